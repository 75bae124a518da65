// Every op with a VJP rule, checked against central finite differences. float64 where onnxruntime's
// CPU provider has a double kernel for the op (and for the ops its VJP emits); float32 otherwise.
import { describe, expect, it } from 'vitest';
import { f } from '../../src/onnx/attrs.js';
import type { Graph } from '../../src/onnx/graph.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { gradCheck, type CheckInput, type CheckOptions } from '../helpers/gradcheck.js';
import * as ops from '../../src/onnx/ops/index.js';
import { differentiableOps } from '../../src/autodiff/grad.js';

interface Case {
  op: string;
  label?: string;
  inputs: CheckInput[];
  build: (g: Graph, x: string[]) => string;
  options?: CheckOptions;
}

const F32: CheckOptions = { dtype: 'float32' };
const unary = (op: string, extra: Partial<Case> = {}, range?: [number, number]): Case => ({
  op, inputs: [{ name: 'x', dims: [2, 3], range }], build: (g, [x]) => g.op1(op, [x!]), ...extra,
});

const cases: Case[] = [
  { op: 'MatMul', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3, 4] }], build: (g, [a, b]) => ops.matmul(g, a!, b!) },
  { op: 'MatMul', label: 'batched, shared weight', inputs: [{ name: 'a', dims: [2, 3, 4] }, { name: 'b', dims: [4, 2] }], build: (g, [a, b]) => ops.matmul(g, a!, b!) },
  { op: 'MatMul', label: 'batch broadcast', inputs: [{ name: 'a', dims: [2, 1, 2, 3] }, { name: 'b', dims: [3, 3, 2] }], build: (g, [a, b]) => ops.matmul(g, a!, b!) },
  { op: 'Gemm', inputs: [{ name: 'a', dims: [3, 2] }, { name: 'b', dims: [4, 3] }, { name: 'c', dims: [4] }], build: (g, [a, b, c]) => g.op1('Gemm', [a!, b!, c!], { transA: 1, transB: 1, alpha: f(0.7), beta: f(1.3) }) },
  { op: 'Gemm', label: 'no transpose', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3, 4] }, { name: 'c', dims: [2, 1] }], build: (g, [a, b, c]) => g.op1('Gemm', [a!, b!, c!]) },
  { op: 'Add', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }], build: (g, [a, b]) => g.op1('Add', [a!, b!]) },
  { op: 'Sub', inputs: [{ name: 'a', dims: [2, 1] }, { name: 'b', dims: [2, 3] }], build: (g, [a, b]) => g.op1('Sub', [a!, b!]) },
  { op: 'Mul', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [1, 3] }], build: (g, [a, b]) => g.op1('Mul', [a!, b!]) },
  { op: 'Div', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [3], range: [0.5, 2] }], build: (g, [a, b]) => g.op1('Div', [a!, b!]) },
  unary('Neg'),
  { op: 'Max', inputs: [{ name: 'a', dims: [2, 3], values: [0.5, -1, 2, 0.1, 0.9, -0.4] }, { name: 'b', dims: [3], values: [0, 0.3, 1] }], build: (g, [a, b]) => g.op1('Max', [a!, b!]) },
  { op: 'Min', inputs: [{ name: 'a', dims: [2, 3], values: [0.5, -1, 2, 0.1, 0.9, -0.4] }, { name: 'b', dims: [1], values: [0.3] }], build: (g, [a, b]) => g.op1('Min', [a!, b!]) },
  { op: 'Pow', inputs: [{ name: 'x', dims: [2, 3], range: [0.5, 2] }], build: (g, [x]) => ops.pow(g, x!, 2.5) },
  unary('Sqrt', {}, [0.5, 2]),
  unary('Exp'),
  unary('Log', {}, [0.5, 2]),
  unary('Tanh'),
  unary('Sigmoid'),
  { op: 'Relu', inputs: [{ name: 'x', dims: [2, 3], values: [-1, -0.3, 0.2, 0.5, -0.7, 1.1] }], build: (g, [x]) => ops.relu(g, x!) },
  { op: 'Gelu', label: 'erf form', inputs: [{ name: 'x', dims: [2, 3], range: [-3, 3] }], build: (g, [x]) => ops.gelu(g, x!, 'none'), options: F32 },
  { op: 'Gelu', label: 'tanh form', inputs: [{ name: 'x', dims: [2, 3], range: [-3, 3] }], build: (g, [x]) => ops.gelu(g, x!, 'tanh'), options: F32 },
  unary('Erf', { options: F32 }),
  { op: 'Softmax', inputs: [{ name: 'x', dims: [2, 4] }], build: (g, [x]) => ops.softmax(g, x!, -1) },
  { op: 'Softmax', label: 'axis 0', inputs: [{ name: 'x', dims: [3, 2] }], build: (g, [x]) => ops.softmax(g, x!, 0) },
  { op: 'LogSoftmax', inputs: [{ name: 'x', dims: [2, 4] }], build: (g, [x]) => ops.logSoftmax(g, x!, 1) },
  { op: 'ReduceSum', inputs: [{ name: 'x', dims: [2, 3, 2] }], build: (g, [x]) => ops.reduceSum(g, x!, [1], false) },
  { op: 'ReduceMean', inputs: [{ name: 'x', dims: [2, 3, 2] }], build: (g, [x]) => ops.reduceMean(g, x!, [0, 2], true) },
  { op: 'ReduceMean', label: 'symbolic dim', inputs: [{ name: 'x', dims: [2, 3], shape: ['batch', 3] }], build: (g, [x]) => g.op1('Reshape', [ops.reduceMean(g, x!, [0], true), g.int64s([3])]) },
  { op: 'LayerNormalization', inputs: [{ name: 'x', dims: [2, 2, 4] }, { name: 'gamma', dims: [4] }, { name: 'beta', dims: [4] }], build: (g, [x, s, b]) => ops.layerNorm(g, x!, s!, b!, 1e-5) },
  { op: 'LayerNormalization', label: 'float32 saved stats', inputs: [{ name: 'x', dims: [3, 4] }, { name: 'gamma', dims: [4] }, { name: 'beta', dims: [4] }], build: (g, [x, s, b]) => ops.layerNorm(g, x!, s!, b!, 1e-5), options: { dtype: 'float32', eps: 1e-2, rtol: 3e-2, atol: 3e-3 } },
  { op: 'Reshape', inputs: [{ name: 'x', dims: [2, 6] }], build: (g, [x]) => ops.reshape(g, x!, [3, -1, 2]) },
  { op: 'Transpose', inputs: [{ name: 'x', dims: [2, 3, 4] }], build: (g, [x]) => ops.transpose(g, x!, [2, 0, 1]) },
  { op: 'Unsqueeze', inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => ops.unsqueeze(g, x!, [0, 2]) },
  { op: 'Squeeze', inputs: [{ name: 'x', dims: [2, 1, 3] }], build: (g, [x]) => ops.squeeze(g, x!, [1]) },
  { op: 'Flatten', inputs: [{ name: 'x', dims: [2, 3, 2] }], build: (g, [x]) => ops.flatten(g, x!, 1) },
  { op: 'Concat', inputs: [{ name: 'a', dims: [2, 3] }, { name: 'b', dims: [2, 2] }], build: (g, [a, b]) => ops.concat(g, [a!, b!, a!], 1) },
  { op: 'Split', inputs: [{ name: 'x', dims: [2, 5] }], build: (g, [x]) => { const [p, , r] = ops.split(g, x!, [2, 1, 2], 1); return g.op1('Mul', [p!, r!]); } },
  { op: 'Slice', inputs: [{ name: 'x', dims: [3, 5] }], build: (g, [x]) => ops.slice(g, x!, [1, -4], [3, 4], [0, 1]) },
  { op: 'Slice', label: 'symbolic dim', inputs: [{ name: 'x', dims: [2, 5], shape: [2, 'seq'] }], build: (g, [x]) => ops.slice(g, x!, [1], [3], [1]) },
  { op: 'Gather', label: 'embedding rows, repeated ids', inputs: [{ name: 'table', dims: [5, 3] }, { name: 'ids', dims: [2, 3], dtype: 'int64', values: [0, 4, 4, 1, 0, -1], fixed: true }], build: (g, [t, i]) => ops.gather(g, t!, i!, 0) },
  { op: 'Gather', label: 'axis 1', inputs: [{ name: 'x', dims: [2, 4, 3] }, { name: 'ids', dims: [2], dtype: 'int64', values: [3, 3], fixed: true }], build: (g, [x, i]) => ops.gather(g, x!, i!, 1) },
  { op: 'GatherElements', inputs: [{ name: 'x', dims: [2, 5] }, { name: 'idx', dims: [2, 3], dtype: 'int64', values: [4, 0, 4, 1, 1, 3], fixed: true }], build: (g, [x, i]) => ops.gatherElements(g, x!, i!, 1) },
  { op: 'Where', inputs: [{ name: 'c', dims: [2, 3], dtype: 'bool', values: [1, 0, 1, 0, 0, 1], fixed: true }, { name: 'a', dims: [2, 3] }, { name: 'b', dims: [3] }], build: (g, [c, a, b]) => ops.where(g, c!, a!, b!) },
  { op: 'Expand', inputs: [{ name: 'x', dims: [3, 1] }], build: (g, [x]) => g.op1('Expand', [x!, g.int64s([2, 3, 4])]) },
  { op: 'Cast', inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.op1('Cast', [x!], { to: 1 }), options: { rtol: 1e-4, atol: 1e-5, eps: 1e-3 } },
  { op: 'Identity', inputs: [{ name: 'x', dims: [2, 3] }], build: (g, [x]) => g.op1('Identity', [x!]) },
  // The mask is fixed by the seed, so finite differences see the same mask as the VJP.
  { op: 'Dropout', inputs: [{ name: 'x', dims: [4, 5] }], build: (g, [x]) => ops.dropout(g, x!, 0.3, 7), options: { freshSession: true } },
  { op: 'Conv', inputs: [{ name: 'x', dims: [2, 2, 5, 5] }, { name: 'w', dims: [3, 2, 3, 3] }, { name: 'b', dims: [3] }], build: (g, [x, w, b]) => ops.conv2d(g, x!, w!, b!, { pad: 1 }), options: F32 },
  { op: 'Conv', label: 'stride 2', inputs: [{ name: 'x', dims: [1, 2, 6, 6] }, { name: 'w', dims: [2, 2, 3, 3] }], build: (g, [x, w]) => ops.conv2d(g, x!, w!, undefined, { stride: 2, pad: 1 }), options: F32 },
  { op: 'MaxPool', inputs: [{ name: 'x', dims: [2, 2, 4, 4] }], build: (g, [x]) => ops.maxPool2d(g, x!, 2) },
  { op: 'AveragePool', inputs: [{ name: 'x', dims: [1, 2, 4, 4] }], build: (g, [x]) => ops.avgPool2d(g, x!, 2), options: F32 },
  { op: 'AveragePool', label: 'overlapping', inputs: [{ name: 'x', dims: [1, 1, 5, 5] }], build: (g, [x]) => ops.avgPool2d(g, x!, 3, 2), options: F32 },
  { op: 'SoftmaxCrossEntropyLoss', inputs: [{ name: 'scores', dims: [4, 3] }, { name: 'labels', dims: [4], dtype: 'int64', values: [0, 2, 1, 2], fixed: true }], build: (g, [s, l]) => ops.softmaxCrossEntropy(g, s!, l!) },
  { op: 'SoftmaxCrossEntropyLoss', label: 'ignore_index, [N,C,T]', inputs: [{ name: 'scores', dims: [2, 3, 2] }, { name: 'labels', dims: [2, 2], dtype: 'int64', values: [0, -100, 2, 1], fixed: true }], build: (g, [s, l]) => ops.softmaxCrossEntropy(g, s!, l!, { ignoreIndex: -100 }) },
  { op: 'SoftmaxCrossEntropyLoss', label: 'sum', inputs: [{ name: 'scores', dims: [3, 4] }, { name: 'labels', dims: [3], dtype: 'int64', values: [3, 0, 1], fixed: true }], build: (g, [s, l]) => ops.softmaxCrossEntropy(g, s!, l!, { reduction: 'sum' }) },
  { op: 'SoftmaxCrossEntropyLoss', label: 'none, ignore_index', inputs: [{ name: 'scores', dims: [3, 4] }, { name: 'labels', dims: [3], dtype: 'int64', values: [3, -1, 1], fixed: true }], build: (g, [s, l]) => ops.softmaxCrossEntropy(g, s!, l!, { reduction: 'none', ignoreIndex: -1 }) },
];

describe('VJP rules match central finite differences', () => {
  for (const c of cases) {
    it(`${c.op}${c.label ? ` (${c.label})` : ''}`, async () => {
      const result = await gradCheck(c.inputs, c.build, c.options);
      expect(result.failures).toEqual([]);
      expect(result.checked).toBeGreaterThan(0);
    });
  }

  it('covers every op in the gradient table', () => {
    const checked = new Set(cases.map((c) => c.op));
    expect(differentiableOps().filter((op) => !checked.has(op))).toEqual([]);
  });
});

describe('grad()', () => {
  it('names the op when there is no rule for it', async () => {
    const { Graph } = await import('../../src/onnx/graph.js');
    const { grad } = await import('../../src/autodiff/grad.js');
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = g.op1('Abs', [x]);
    expect(() => grad(g, g.op1('ReduceSum', [y], { keepdims: 0 }), [x])).toThrow(/no gradient rule for op 'Abs'/);
  });

  it('sums every repeated row of a Gather gradient exactly with several intra-op threads', async () => {
    // onnxruntime's ScatterND add splits updates across threads unguarded and drops some when rows
    // repeat; the embedding gradient must count each token occurrence once, run after run.
    const { Graph } = await import('../../src/onnx/graph.js');
    const { grad } = await import('../../src/autodiff/grad.js');
    const { encodeModel } = await import('../../src/onnx/codec.js');
    const { createSession, run } = await import('../../src/onnx/runtime.js');
    const V = 4, D = 64, B = 32, L = 256;
    const g = new Graph();
    const table = g.input('table', 'float32', [V, D]);
    const ids = g.input('ids', 'int64', [B, L]);
    const loss = g.op1('ReduceSum', [g.op1('Gather', [table, ids], { axis: 0 })], { keepdims: 0 });
    g.output(g.alias(grad(g, loss, [table]).get(table)!, 'gtable'));
    const session = await createSession(encodeModel(g), { threads: 2 });
    const idData = BigInt64Array.from({ length: B * L }, (_, i) => BigInt(i % V));
    for (let rep = 0; rep < 5; rep++) {
      const out = await run(session, { table: new Tensor('float32', [V, D], new Float32Array(V * D)), ids: new Tensor('int64', [B, L], idData) });
      expect(new Set(out.gtable!.toNumbers())).toEqual(new Set([(B * L) / V]));
    }
  });

  it('gives zeros for parameters the loss does not use', async () => {
    const { Graph } = await import('../../src/onnx/graph.js');
    const { grad } = await import('../../src/autodiff/grad.js');
    const { encodeModel } = await import('../../src/onnx/codec.js');
    const { createSession, run } = await import('../../src/onnx/runtime.js');
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const unused = g.input('u', 'float32', [3]);
    const loss = g.op1('ReduceSum', [g.op1('Mul', [x, x])], { keepdims: 0 });
    const grads = grad(g, loss, [x, unused]);
    g.output(g.alias(grads.get(x)!, 'gx'));
    g.output(g.alias(grads.get(unused)!, 'gu'));
    const session = await createSession(encodeModel(g));
    const out = await run(session, { x: Tensor.fromNumbers('float32', [2], [1, -2]), u: Tensor.fromNumbers('float32', [3], [1, 2, 3]) });
    expect(out.gx!.toNumbers()).toEqual([2, -4]);
    expect(out.gu!.toNumbers()).toEqual([0, 0, 0]);
  });
});
