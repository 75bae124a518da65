// model.finetune() in Node, with onnxruntime-node and onnxruntime-web (wasm): it learns what its
// examples say, reports the held-out slice before and after, exports a file whose digest and
// provenance say what was done, stores and restores the adapted weights, returns to the shipped ones,
// refuses bad input in one sentence, and runs 1,000 steps without its memory growing.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { compressModel } from '../../src/compress/compress.js';
import { withFinetuneStep } from '../../src/train/finetune-step.js';
import { META } from '../../src/format/metadata.js';
import { collectGarbage } from '../../src/util/gc.js';
import { loadModel, type Model } from '../../runtime/index.js';
import { examples, ordinary, relativeGap, rule } from './finetune-fixtures.js';

ortWeb.env.wasm.numThreads = 1;
let plain: Uint8Array;
let headInt8: Uint8Array;
let lastInt8: Uint8Array;
const dir = mkdtempSync(path.join(tmpdir(), 'minnow-finetune-'));

beforeAll(async () => {
  const out = path.join(dir, 'student');
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', epochs: 1, batch: 16, lr: 3e-3, vocabSize: 400, out, dataOptions: { limit: 256 } });
  plain = readFileSync(path.join(out, 'model.onnx'));
  const head = compressModel(plain, { quantize: 'int8', finetunable: 'head' });
  headInt8 = withFinetuneStep(head.bytes, head.finetunable!);
  const last = compressModel(plain, { quantize: 'int8', finetunable: { last: 1 } });
  lastInt8 = withFinetuneStep(last.bytes, last.finetunable!);
});

async function verdicts(model: Model, texts: string[]): Promise<string[]> {
  return (await model.classify(texts)).map((p) => p[0]!.label);
}

describe('model.finetune() in Node', () => {
  it('learns the rule from its examples and keeps the rest, with onnxruntime-node and -web giving the same weights', async () => {
    const node = await loadModel(lastInt8, { ort: ortNode as never });
    const web = await loadModel(lastInt8, { ort: ortWeb as never });
    expect((await verdicts(node, rule)).filter((v) => v === 'spam').length).toBeLessThan(rule.length / 2);
    const options = { epochs: 30, lr: 3e-3, heldOut: 0 };
    const [a, b] = [await node.finetune(examples, options), await web.finetune(examples, options)];
    expect(await verdicts(node, rule)).toEqual(rule.map(() => 'spam'));
    expect(await verdicts(node, ordinary)).toEqual(ordinary.map(() => 'ham'));
    expect([a.steps, b.steps]).toEqual([60, 60]);
    expect(a.weightsSha256).not.toBe(node.shipped.file.metadata[META.weightsSha256]);
    // The two engines' adapted weights agree to 1e-4 (relative to each tensor's largest value): their
    // int8 kernels round a few activations of the frozen part to the other side, which moves the
    // features by a quantization step. (The browser test holds onnxruntime-web in Chromium and in
    // Node to 1e-5.)
    expect(relativeGap(node, web)).toBeLessThan(1e-4);
  });

  it('reports the held-out slice, exports a verified file that says it was adapted, and resets', async () => {
    const model = await loadModel(headInt8, { ort: ortNode as never });
    const shippedScores = await model.classify(ordinary);
    const progress: number[] = [];
    const report = await model.finetune(examples, { epochs: 30, lr: 3e-2, onProgress: (p) => progress.push(p.step) });
    expect(report.heldOut).toBe(3);
    expect(report.examples).toBe(16);
    // Three held-out examples: a score in thirds.
    expect([0, 1 / 3, 2 / 3, 1]).toContain(report.before!.accuracy);
    expect(report.after!.accuracy).toBeGreaterThanOrEqual(report.before!.accuracy);
    expect(progress.at(-1)).toBe(report.steps);
    const exported = model.export();
    const again = await loadModel(exported, { ort: ortNode as never });
    expect(again.info.sha256).toBe(report.weightsSha256);
    const provenance = JSON.parse(again.info.metadata[META.provenance]!);
    expect(provenance.adapted[0]).toMatchObject({ on: 'device', part: 'head', examples: 16, held_out: 3, steps: report.steps });
    expect(await again.classify(ordinary)).toEqual(await model.classify(ordinary));
    await model.reset();
    expect(await model.classify(ordinary)).toEqual(shippedScores);
    expect(model.info.sha256).toBe(model.shipped.file.metadata[META.weightsSha256]);
    expect(model.export()).toEqual(new Uint8Array(headInt8));
  });

  it('stores the adapted weights and applies them to the shipped model again', async () => {
    const model = await loadModel(lastInt8, { ort: ortNode as never });
    await model.finetune(examples, { epochs: 5, heldOut: 0 });
    const file = path.join(dir, 'adapted.bin');
    await model.saveAdaptation(file);
    const fresh = await loadModel(lastInt8, { ort: ortNode as never });
    expect(await fresh.restoreAdaptation(path.join(dir, 'nothing-here.bin'))).toBe(false);
    expect(await fresh.restoreAdaptation(file)).toBe(true);
    expect(await fresh.classify(rule)).toEqual(await model.classify(rule));
    expect(fresh.info.sha256).toBe(model.info.sha256);
    const other = await loadModel(headInt8, { ort: ortNode as never });
    await expect(other.restoreAdaptation(file)).rejects.toThrow(/made for other weights/);
  });

  it('refuses bad input in one sentence, and an aborted run leaves the model as it was', async () => {
    const model = await loadModel(headInt8, { ort: ortNode as never });
    await expect((await loadModel(plain, { ort: ortNode as never })).finetune(examples)).rejects.toThrow(/no training step: export it with `minnow compress <model> --finetunable head`/);
    await expect(model.finetune([])).rejects.toThrow(/non-empty array/);
    await expect(model.finetune([{ text: 'hi', label: 'maybe' }])).rejects.toThrow(/label 'maybe'; this model's labels are ham, spam/);
    await expect(model.finetune([{ pixels: [1, 2], label: 'ham' }])).rejects.toThrow(/example 0 has no text/);
    await expect(model.finetune(examples, { lr: -1 })).rejects.toThrow(/lr must be a positive number/);
    await expect(model.finetune(examples, { heldOut: 1 })).rejects.toThrow(/heldOut must be in \[0, 1\)/);
    const before = model.info.sha256;
    const controller = new AbortController();
    const run = model.finetune(examples, { epochs: 50, signal: controller.signal, onProgress: (p) => { if (p.step === 3) controller.abort(); } });
    await expect(run).rejects.toThrow(/abort/i);
    expect(model.info.sha256).toBe(before);
  });
});

describe('model.finetune() memory', () => {
  it('runs 1,000 steps without growth', async () => {
    const model = await loadModel(headInt8, { ort: ortNode as never });
    const samples: { step: number; rss: number; js: number }[] = [];
    const sample = (step: number) => {
      collectGarbage();
      const m = process.memoryUsage();
      samples.push({ step, rss: m.rss / 2 ** 20, js: (m.heapUsed + m.arrayBuffers) / 2 ** 20 });
    };
    // Eight examples in one batch: one step an epoch.
    await model.finetune(examples.slice(4, 12), { epochs: 1100, heldOut: 0, onProgress: (p) => { if (p.step % 100 === 0) sample(p.step); } });
    const [first, last] = [samples.find((s) => s.step === 100)!, samples.find((s) => s.step === 1100)!];
    expect(samples.length).toBe(11);
    expect(last.js - first.js).toBeLessThan(1);
    expect(last.rss - first.rss).toBeLessThan(8);
  });
});
