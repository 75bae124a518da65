// Why alpha 0.5 / T 2 underfits the spam student (bench/RESULTS.md, "The spam recipe"): at one fixed
// student, how much of each objective's logit gradient comes from the training mails it gets wrong,
// and how much from the mails it already gets right?
//   npx tsx bench/kd-gradient-share.ts --teacher runs/recipe/teacher/model.onnx runs/recipe/none/seed1
import { parseArgs } from 'node:util';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { encodeModel } from '../src/onnx/codec.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { iterateBatches } from '../src/data/batching.js';
import { splitSource, readerOf } from '../src/train/sources.js';
import { META } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';

/** The two-class logits of a spam model on every training mail, in order, with the labels. */
async function logits(file: string): Promise<{ out: number[]; labels: number[] }> {
  const { graph } = readOnnxFile(file);
  const reader = readerOf(JSON.parse(graph.metadata.get(META.preprocessing)!), tokenizerFromJSON(tokenizerJsonOf(graph.metadata)!));
  const session = await createSession(encodeModel(graph));
  const out: number[] = [], labels: number[] = [];
  for (const batch of iterateBatches(splitSource(loadDataset('spam', 'classify'), 'train', reader).source, { batchSize: 64, seed: 0, epoch: 0, shuffle: false })) {
    const { labels: l, ...inputs } = batch;
    out.push(...((await run(session, inputs))[graph.outputs[0]!]!.data as Float32Array));
    labels.push(...Array.from(l!.data as BigInt64Array, Number));
  }
  return { out, labels };
}

const { values, positionals } = parseArgs({ options: { teacher: { type: 'string' } }, allowPositionals: true });
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const teacher = await logits(values.teacher!);
for (const dir of positionals) {
  const student = await logits(`${dir}/model.onnx`);
  console.log(dir);
  for (const [alpha, T] of [[0, 1], [0.5, 1], [1, 2], [0.5, 2], [0.333, 2]] as const) {
    let wrong = 0, right = 0, nWrong = 0;
    for (let i = 0; i < student.labels.length; i++) {
      const y = student.labels[i]!;
      const ms = student.out[2 * i + 1]! - student.out[2 * i]!, mt = teacher.out[2 * i + 1]! - teacher.out[2 * i]!;
      // d loss / d (spam logit - ham logit): T^2 KL at temperature T gives T (p_s,T - p_t,T).
      const g = Math.abs(alpha * T * (sigmoid(ms / T) - sigmoid(mt / T)) + (1 - alpha) * (sigmoid(ms) - y));
      if ((ms > 0 ? 1 : 0) !== y) { wrong += g; nWrong++; } else right += g;
    }
    console.log(`  alpha ${alpha}, T ${T}: the ${nWrong} wrong mails give ${(wrong / (wrong + right) * 100).toFixed(0)}% of the summed |gradient| (wrong ${wrong.toFixed(1)}, right ${right.toFixed(1)})`);
  }
}
