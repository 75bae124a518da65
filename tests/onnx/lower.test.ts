import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { lowerForOnnxruntime } from '../../src/onnx/lower.js';
import { softmaxCrossEntropy, type CrossEntropyOptions } from '../../src/onnx/ops/softmax.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';

const rng = new Rng(3);
const N = 6, C = 5;
const scores = new Tensor('float32', [N, C], Float32Array.from({ length: N * C }, () => rng.normal() * 3));
const labels = Tensor.fromNumbers('int64', [N], [4, 0, -1, 2, 2, 1]);

function build(options: CrossEntropyOptions, dims: number[] = [N, C]): Graph {
  const g = new Graph();
  const s = g.input('scores', 'float32', dims);
  const l = g.input('labels', 'int64', [dims[0]!, ...dims.slice(2)]);
  const loss = softmaxCrossEntropy(g, s, l, options);
  g.output(loss);
  g.output(g.producer(loss)!.outputs[1]!);
  return g;
}

async function evaluate(g: Graph, feeds = { scores, labels }): Promise<Float32Array[]> {
  const out = await run(await createSession(encodeModel(g)), feeds);
  return g.outputs.map((name) => out[name]!.data as Float32Array);
}

describe('lowerForOnnxruntime', () => {
  const cases: [string, CrossEntropyOptions][] = [
    ['mean', { ignoreIndex: -1 }], ['sum', { reduction: 'sum', ignoreIndex: -1 }], ['none', { reduction: 'none', ignoreIndex: -1 }],
  ];
  for (const [label, options] of cases) {
    it(`writes SoftmaxCrossEntropyLoss [N, C] (${label}, ignore_index) as LogSoftmax + NegativeLogLikelihoodLoss with the same values`, async () => {
      const lowered = build(options);
      lowerForOnnxruntime(lowered);
      expect(lowered.nodes.map((n) => n.opType)).toEqual(['LogSoftmax', 'NegativeLogLikelihoodLoss']);
      expect(lowered.producer(lowered.outputs[0]!)!.opType).toBe('NegativeLogLikelihoodLoss');
      const [want, got] = await Promise.all([evaluate(build(options)), evaluate(lowered)]);
      for (let k = 0; k < want.length; k++) {
        expect(got[k]!.length).toBe(want[k]!.length);
        got[k]!.forEach((v, i) => expect(v).toBeCloseTo(want[k]![i]!, 6));
      }
      // The ignored row adds nothing: the loss is not NaN or zero.
      expect(Number.isFinite(got[0]![0]!) && got[0]![0]! !== 0).toBe(true);
    });
  }

  it('leaves scores with more than two axes to onnxruntime (C is then not the last axis)', () => {
    const g = build({}, [2, 3, 4]);
    lowerForOnnxruntime(g);
    expect(g.nodes.map((n) => n.opType)).toEqual(['SoftmaxCrossEntropyLoss']);
  });
});
