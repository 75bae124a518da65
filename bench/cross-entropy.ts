// Cross-entropy over a language model's logits in onnxruntime: SoftmaxCrossEntropyLoss as written
// (onnxruntime runs it as its ONNX function) against the LogSoftmax + NegativeLogLikelihoodLoss
// that lowerForOnnxruntime writes, forward alone and with the gradient. One process, p50 ms.
//   npx tsx bench/cross-entropy.ts [--rows 8192] [--classes 4000] [--runs 20] [--threads 2]
import { parseArgs } from 'node:util';
import { Graph } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/codec.js';
import { lowerForOnnxruntime } from '../src/onnx/lower.js';
import { softmaxCrossEntropy } from '../src/onnx/ops/softmax.js';
import { grad } from '../src/autodiff/grad.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { Tensor } from '../src/onnx/tensor.js';
import { Rng } from '../src/format/rng.js';
import { timeIt } from './timing.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '8192' }, classes: { type: 'string', default: '4000' }, runs: { type: 'string', default: '20' }, threads: { type: 'string', default: '2' } } });
const [N, C, runs, threads] = [values.rows, values.classes, values.runs, values.threads].map(Number) as [number, number, number, number];
const rng = new Rng(0);
const feeds = {
  scores: new Tensor('float32', [N, C], Float32Array.from({ length: N * C }, () => rng.normal() * 2)),
  labels: Tensor.fromNumbers('int64', [N], Array.from({ length: N }, () => rng.int(C))),
};

/** The loss and, with the gradient, the sum of d loss / d scores (outputs kept scalar: no copy-out). */
async function timeGraph(withGrad: boolean, lowered: boolean): Promise<[number, number]> {
  const g = new Graph();
  const s = g.input('scores', 'float32', [N, C]);
  const loss = softmaxCrossEntropy(g, s, g.input('labels', 'int64', [N]));
  g.output(loss);
  if (withGrad) g.output(g.op1('ReduceSumSquare', [grad(g, loss, [s]).get(s)!], { keepdims: 0 }));
  if (lowered) lowerForOnnxruntime(g);
  const session = await createSession(encodeModel(g), { threads });
  const ms = await timeIt(() => run(session, feeds), runs);
  return [ms, (await run(session, feeds))[loss]!.data[0] as number];
}

console.log(`cross-entropy over [${N}, ${C}], ${threads} threads, p50 of ${runs} runs`);
console.log('| pass | SoftmaxCrossEntropyLoss | LogSoftmax + NLL (lowered) | ratio | same loss |');
console.log('| --- | --- | --- | --- | --- |');
for (const withGrad of [false, true]) {
  const [a, lossA] = await timeGraph(withGrad, false);
  const [b, lossB] = await timeGraph(withGrad, true);
  console.log(`| ${withGrad ? 'loss and gradient' : 'loss'} | ${a.toFixed(1)} ms | ${b.toFixed(1)} ms | ${(a / b).toFixed(2)}x | ${lossA === lossB ? 'yes' : `${lossA} vs ${lossB}`} |`);
}
