// A shipped student's test accuracy in minnow/micro against onnxruntime-node, mail by mail: the
// accuracy of each, how many top labels agree, and the largest difference in a top score.
//   npx tsx bench/micro-accuracy.ts runs/spam/student.onnx   (after the README's first command)
import * as ortNode from 'onnxruntime-node';
import { loadDataset } from '../src/data/datasets.js';
import { loadModel, type OrtLike } from '../runtime/index.js';
import { loadModel as loadMicro } from '../runtime/micro/index.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: npx tsx bench/micro-accuracy.ts <spam student.onnx>');
  process.exit(2);
}
const data = loadDataset('spam', 'classify');
if (data.task !== 'classify') throw new Error('the spam data set is a classification set');
const [ref, micro] = [await loadModel(file, { ort: ortNode as unknown as OrtLike, truncation: 'right' }), await loadMicro(file, { truncation: 'right' })];
let [refRight, microRight, agree, maxDiff] = [0, 0, 0, 0];
for (const example of data.splits.test) {
  const [r, m] = [await ref.classify(example.text), await micro.classify(example.text)];
  const truth = data.labels[example.label];
  refRight += Number(r[0]!.label === truth);
  microRight += Number(m[0]!.label === truth);
  agree += Number(r[0]!.label === m[0]!.label);
  maxDiff = Math.max(maxDiff, Math.abs(r[0]!.score - m.find((p) => p.label === r[0]!.label)!.score));
}
const n = data.splits.test.length;
console.log(JSON.stringify({ mails: n, accuracy: { 'onnxruntime-node': refRight / n, micro: microRight / n }, top_labels_agree: agree, max_top_score_difference: maxDiff }));
