// Classify each line of stdin with a shipped model, as a Linux board would:
//   npx tsx examples/node-iot/classify-stdin.ts runs/spam/model.onnx < mails.txt
// Prints one JSON line per input line: {"text": ..., "label": ..., "score": ...}.
import * as ort from 'onnxruntime-node';
import { createInterface } from 'node:readline';
import { loadModel } from '../../runtime/index.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: classify-stdin MODEL.onnx < lines.txt');
  process.exit(2);
}
const model = await loadModel(file, { ort, truncation: 'right', threads: 1 });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const [top] = await model.classify(line);
  console.log(JSON.stringify({ text: line.slice(0, 80), label: top!.label, score: Number(top!.score.toFixed(4)) }));
}
await model.dispose();
