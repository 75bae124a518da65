// Each of minnow/micro's kernels against onnxruntime-node, one small graph per case, on the shapes
// and attributes the students' graphs do not all reach: broadcasts both ways, batched and 1-D
// MatMul, negative axes, padded and strided convolutions, keepdims off.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { f } from '../../src/onnx/attrs.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Rng } from '../../src/format/rng.js';
import { MicroSession } from '../../runtime/micro/session.js';
import { MicroTensor } from '../../runtime/micro/tensor.js';

const rng = new Rng(7);
const randn = (dims: number[]) => new Tensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()));

type Case = [string, (g: Graph, inputs: string[]) => string, Tensor[]];

const CASES: Case[] = [
  ['Add, a bias over the last dim', (g, [a, b]) => g.op1('Add', [a!, b!]), [randn([2, 3, 4]), randn([4])]],
  ['Add, both broadcast ([3,1] + [1,4])', (g, [a, b]) => g.op1('Add', [a!, b!]), [randn([3, 1]), randn([1, 4])]],
  ['Sub, the smaller first', (g, [a, b]) => g.op1('Sub', [a!, b!]), [randn([4]), randn([2, 3, 4])]],
  ['Mul by a mask row [1,1,1,4]', (g, [a, b]) => g.op1('Mul', [a!, b!]), [randn([1, 2, 4, 4]), randn([1, 1, 1, 4])]],
  ['Div, Max', (g, [a, b]) => g.op1('Max', [g.op1('Div', [a!, b!]), a!]), [randn([2, 5]), randn([2, 5])]],
  ['MatMul, batched with a shared matrix', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 3, 5, 6]), randn([6, 7])]],
  ['MatMul, both batched', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 5, 6]), randn([2, 6, 3])]],
  ['MatMul, batch dims broadcast both ways ([2,1] with [1,3])', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 1, 4, 5]), randn([1, 3, 5, 2])]],
  ['MatMul, a vector on the left', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([6]), randn([6, 3])]],
  ['Transpose [0,2,1,3]', (g, [a]) => g.op1('Transpose', [a!], { perm: [0, 2, 1, 3] }), [randn([2, 3, 4, 5])]],
  ['Softmax over the last axis', (g, [a]) => g.op1('Softmax', [a!], { axis: -1 }), [randn([3, 7])]],
  ['LayerNormalization', (g, [a, s, b]) => g.op1('LayerNormalization', [a!, s!, b!], { axis: -1, epsilon: f(1e-3) }), [randn([2, 3, 8]), randn([8]), randn([8])]],
  ['Gelu (erf)', (g, [a]) => g.op1('Gelu', [a!]), [randn([4, 6])]],
  ['ReduceSum over axis 1, keepdims 0', (g, [a]) => g.op1('ReduceSum', [a!, g.int64s([1])], { keepdims: 0 }), [randn([2, 3, 4])]],
  ['Concat on axis -2', (g, [a, b]) => g.op1('Concat', [a!, b!], { axis: -2 }), [randn([2, 3, 4]), randn([2, 2, 4])]],
  ['Conv, padded and strided, with bias', (g, [x, w, b]) => g.op1('Conv', [x!, w!, b!], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }), [randn([1, 2, 7, 7]), randn([4, 2, 3, 3]), randn([4])]],
  ['Relu, Flatten', (g, [x]) => g.op1('Flatten', [g.op1('Relu', [x!])], { axis: 1 }), [randn([2, 3, 2, 2])]],
];

async function both(build: Case[1], inputs: Tensor[]): Promise<[number[], number[]]> {
  const g = new Graph('case');
  const names = inputs.map((t, i) => g.input(`x${i}`, t.dtype, t.dims));
  g.output(build(g, names));
  const bytes = encodeModel(g);
  const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const ref = Object.values(await run(await createSession(bytes), feeds))[0]!;
  const micro = await MicroSession.create(bytes);
  const microFeeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, new MicroTensor('float32', t.data as Float32Array, t.dims)]));
  const out = Object.values(await micro.run(microFeeds))[0]!;
  expect(out.dims).toEqual(ref.dims);
  return [Array.from(out.data as Float32Array), ref.toNumbers()];
}

describe('minnow/micro kernels against onnxruntime-node', () => {
  for (const [name, build, inputs] of CASES) {
    it(name, async () => {
      const [mine, theirs] = await both(build, inputs);
      mine.forEach((v, i) => expect(Math.abs(v - theirs[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(theirs[i]!))));
    });
  }

  it('MaxPool, padded', async () => {
    const g = new Graph('pool');
    const x = g.input('x0', 'float32', [1, 2, 5, 5]);
    const [y] = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1] }, { outputs: 1 });
    g.output(y!);
    const t = randn([1, 2, 5, 5]);
    const bytes = encodeModel(g);
    const ref = Object.values(await run(await createSession(bytes), { x0: t }))[0]!;
    const out = Object.values(await (await MicroSession.create(bytes)).run({ x0: new MicroTensor('float32', t.data as Float32Array, t.dims) }))[0]!;
    expect(out.dims).toEqual(ref.dims);
    expect(Array.from(out.data as Float32Array)).toEqual(ref.toNumbers());
  });
});
