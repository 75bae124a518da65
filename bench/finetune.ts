// Learning on the device (issue 20), in Node: a spam student, quantized int8 with the training step
// of one part, fine-tuned by minnow/runtime in onnxruntime-node on a few examples labelled by a rule
// it does not know (bench/finetune-rules.ts). It reports the rule's held-out mails (the share now
// called spam) and the ordinary test split (mails the rule leaves alone, with their own labels),
// before and after. bench/finetune-browser.ts runs the same in Chromium.
//   npx tsx bench/finetune.ts STUDENT.onnx [--rule feeds|meetings|newsletters] [--part last:2]
//     [--examples 50] [--rule-examples 25] [--keep 200] [--epochs 20] [--lr 1e-3] [--held-out 0] [--seed 0]
// STUDENT.onnx is a float spam classifier, e.g. from
//   npx minnow train --task classify --data spam --model student-tiny --epochs 3 --out runs/ft-student
// --keep N passes N more ordinary training mails as finetune()'s `keep` (the model keeps its
// verdicts on them, as an app would ask for the user's other mails).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadModel, type Model } from '../runtime/index.js';
import { compressModel } from '../src/compress/compress.js';
import { parseFinetunePart } from '../src/compress/finetunable.js';
import { withFinetuneStep } from '../src/train/finetune-step.js';
import type { TextExample } from '../src/data/datasets.js';
import { drawRule } from './finetune-rules.js';

export const FINETUNE_FLAGS = {
  rule: { type: 'string', default: 'feeds' }, part: { type: 'string', default: 'last:2' }, examples: { type: 'string', default: '50' },
  'rule-examples': { type: 'string', default: '25' }, keep: { type: 'string', default: '200' }, epochs: { type: 'string', default: '20' },
  lr: { type: 'string', default: '1e-3' }, seed: { type: 'string', default: '0' }, 'held-out': { type: 'string', default: '0' },
} as const;

/** The student as the run ships it: int8, with the training step of `part` (all: float32). */
export function adaptableStudent(file: string, partName: string): Uint8Array {
  const part = parseFinetunePart(partName);
  const compressed = compressModel(readFileSync(file), part === 'all' ? { finetunable: part } : { quantize: 'int8', finetunable: part });
  return withFinetuneStep(compressed.bytes, compressed.finetunable!);
}

async function accuracy(m: Model, examples: TextExample[], wanted?: string): Promise<number> {
  let hits = 0;
  for (let i = 0; i < examples.length; i += 32) {
    const batch = examples.slice(i, i + 32);
    const verdicts = await m.classify(batch.map((e) => e.text));
    verdicts.forEach((p, k) => { hits += Number(p[0]!.label === (wanted ?? m.info.labels![batch[k]!.label])); });
  }
  return hits / examples.length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: FINETUNE_FLAGS });
  if (!positionals[0]) throw new Error('usage: npx tsx bench/finetune.ts STUDENT.onnx [--rule feeds|meetings|newsletters] [--part last:2] ...');
  const seed = Number(values.seed);
  const draw = drawRule({ rule: values.rule, examples: Number(values.examples), ruleExamples: Number(values['rule-examples']), keep: Number(values.keep), seed });
  const model = await loadModel(adaptableStudent(positionals[0], values.part), { ort: ort as never, truncation: 'right', threads: 2 });
  const before = { rule: await accuracy(model, draw.heldRule, 'spam'), ordinary: await accuracy(model, draw.ordinaryTest) };
  const started = performance.now();
  const report = await model.finetune(draw.examples, { epochs: Number(values.epochs), lr: Number(values.lr), seed, heldOut: Number(values['held-out']), keep: draw.keep });
  const seconds = (performance.now() - started) / 1000;
  const after = { rule: await accuracy(model, draw.heldRule, 'spam'), ordinary: await accuracy(model, draw.ordinaryTest) };
  console.log(JSON.stringify({
    date: new Date().toISOString().slice(0, 10), engine: 'onnxruntime-node', student: positionals[0], ...values,
    held_out_rule_mails: draw.heldRule.length, ordinary_test_mails: draw.ordinaryTest.length,
    before, after, ordinary_drop_points: Number(((before.ordinary - after.ordinary) * 100).toFixed(2)), seconds: Number(seconds.toFixed(1)), report,
  }, null, 2));
}
