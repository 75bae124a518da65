// Time per fine-tuning step (issue 20) in onnxruntime-node and onnxruntime-web (wasm), in one process:
// a spam student, int8 with the training step of head, last:1 and last:2, fine-tuned on 64 mails in
// batches of 8 for 3 epochs (24 steps; the first epoch's steps count too). Both engines on one thread,
// and onnxruntime-node again on two. Also the file sizes with each step, and RSS over 1,100 steps.
//   npx tsx bench/finetune-speed.ts STUDENT.onnx
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadModel } from '../runtime/index.js';
import { compressModel } from '../src/compress/compress.js';
import { loadDataset, type ClassificationData } from '../src/data/datasets.js';
import { collectGarbage } from '../src/util/gc.js';
import { adaptableStudent } from './finetune.js';

const file = process.argv[2];
if (!file) throw new Error('usage: npx tsx bench/finetune-speed.ts STUDENT.onnx');
ortWeb.env.wasm.numThreads = 1;
const data = loadDataset('spam', 'classify') as ClassificationData;
const examples = data.splits.train.slice(0, 64).map((e) => ({ text: e.text, label: data.labels[e.label]! }));
const engines = [['onnxruntime-node, 1 thread', ortNode, 1], ['onnxruntime-node, 2 threads', ortNode, 2], ['onnxruntime-web (wasm), 1 thread', ortWeb, 1]] as const;

const sizes: Record<string, number> = { int8: compressModel(readFileSync(file), { quantize: 'int8' }).bytes.length };
const rows = [];
for (const part of ['head', 'last:1', 'last:2']) {
  const bytes = adaptableStudent(file, part);
  sizes[`int8, ${part} step`] = bytes.length;
  for (const [engine, ort, threads] of engines) {
    const model = await loadModel(bytes, { ort: ort as never, truncation: 'right', threads });
    const report = await model.finetune(examples, { epochs: 3, heldOut: 0, batchSize: 8 });
    rows.push({ part, engine, step_ms: Number(report.ms.step.toFixed(2)), features_ms_per_batch: Number((report.ms.features / 8).toFixed(2)), steps: report.steps });
    await model.dispose();
  }
}

// Memory over 1,100 steps of the head in onnxruntime-node: RSS after a collection, at step 100 and 1,100.
const model = await loadModel(adaptableStudent(file, 'head'), { ort: ortNode as never, truncation: 'right' });
const rss: Record<number, number> = {};
await model.finetune(examples.slice(0, 8), {
  epochs: 1100, heldOut: 0, onProgress: ({ step }) => {
    if (step === 100 || step === 1100) { collectGarbage(); rss[step] = Math.round(process.memoryUsage().rss / 2 ** 20); }
  },
});
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), student: file, rows, sizes, rss_mb_at_step: rss }, null, 2));
