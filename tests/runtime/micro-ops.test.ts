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
const randn = (dims: number[], scale = 1) => new Tensor('float32', dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()));
const bytesOf = (dtype: 'uint8' | 'int8', dims: number[]) => {
  const n = dims.reduce((a, b) => a * b, 1);
  return new Tensor(dtype, dims, dtype === 'uint8' ? Uint8Array.from({ length: n }, () => rng.int(256)) : Int8Array.from({ length: n }, () => rng.int(256) - 128));
};

type Case = [string, (g: Graph, inputs: string[]) => string, Tensor[]];

/** DynamicQuantizeLinear's three outputs as one float vector: the values, then the scale and the zero point. */
function dqlAll(g: Graph, x: string): string {
  const [q, scale, zp] = g.op('DynamicQuantizeLinear', [x], {}, { outputs: 3 });
  const flat = (v: string) => g.op1('Reshape', [g.op1('Cast', [v], { to: 1 }), g.int64s([-1])]);
  return g.op1('Concat', [flat(q!), flat(scale!), flat(zp!)], { axis: 0 });
}

const CASES: Case[] = [
  ['Add, a bias over the last dim', (g, [a, b]) => g.op1('Add', [a!, b!]), [randn([2, 3, 4]), randn([4])]],
  ['Add, both broadcast ([3,1] + [1,4])', (g, [a, b]) => g.op1('Add', [a!, b!]), [randn([3, 1]), randn([1, 4])]],
  ['Sub, the smaller first', (g, [a, b]) => g.op1('Sub', [a!, b!]), [randn([4]), randn([2, 3, 4])]],
  ['Mul by a mask row [1,1,1,4]', (g, [a, b]) => g.op1('Mul', [a!, b!]), [randn([1, 2, 4, 4]), randn([1, 1, 1, 4])]],
  ['Mul by a column [2,3,1] (one value per row)', (g, [a, b]) => g.op1('Mul', [a!, b!]), [randn([2, 3, 5]), randn([2, 3, 1])]],
  ['Add of a row of columns [3,1,1] to [2,3,4,2]', (g, [a, b]) => g.op1('Add', [a!, b!]), [randn([2, 3, 4, 2]), randn([3, 1, 1])]],
  ['Div, Max', (g, [a, b]) => g.op1('Max', [g.op1('Div', [a!, b!]), a!]), [randn([2, 5]), randn([2, 5])]],
  ['MatMul, batched with a shared matrix', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 3, 5, 6]), randn([6, 7])]],
  ['MatMul, both batched', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 5, 6]), randn([2, 6, 3])]],
  ['MatMul, batch dims broadcast both ways ([2,1] with [1,3])', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([2, 1, 4, 5]), randn([1, 3, 5, 2])]],
  ['MatMul, a vector on the left', (g, [a, b]) => g.op1('MatMul', [a!, b!]), [randn([6]), randn([6, 3])]],
  ['Transpose [0,2,1,3]', (g, [a]) => g.op1('Transpose', [a!], { perm: [0, 2, 1, 3] }), [randn([2, 3, 4, 5])]],
  ['Softmax over the last axis', (g, [a]) => g.op1('Softmax', [a!], { axis: -1 }), [randn([3, 7])]],
  ['LayerNormalization', (g, [a, s, b]) => g.op1('LayerNormalization', [a!, s!, b!], { axis: -1, epsilon: f(1e-3) }), [randn([2, 3, 8]), randn([8]), randn([8])]],
  ['Gelu (erf)', (g, [a]) => g.op1('Gelu', [a!]), [randn([4, 6])]],
  ['ReduceSum over axes 0 and 2 (not one run), keepdims 1', (g, [a]) => g.op1('ReduceSum', [a!, g.int64s([0, 2])]), [randn([2, 3, 4])]],
  ['ReduceSum over axes 1 and 2 of [2,3,4,5]', (g, [a]) => g.op1('ReduceSum', [a!, g.int64s([-2, 1])], { keepdims: 0 }), [randn([2, 3, 4, 5])]],
  ['ReduceSum over axis 1, keepdims 0', (g, [a]) => g.op1('ReduceSum', [a!, g.int64s([1])], { keepdims: 0 }), [randn([2, 3, 4])]],
  ['Concat on the last axis, one value each', (g, [a, b]) => g.op1('Concat', [a!, b!], { axis: -1 }), [randn([3, 4, 1]), randn([3, 4, 1])]],
  ['Concat on axis -2', (g, [a, b]) => g.op1('Concat', [a!, b!], { axis: -2 }), [randn([2, 3, 4]), randn([2, 2, 4])]],
  ['Conv, padded and strided, with bias', (g, [x, w, b]) => g.op1('Conv', [x!, w!, b!], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }), [randn([1, 2, 7, 7]), randn([4, 2, 3, 3]), randn([4])]],
  ['Relu, Flatten', (g, [x]) => g.op1('Flatten', [g.op1('Relu', [x!])], { axis: 1 }), [randn([2, 3, 2, 2])]],
  ['Gelu (erf) from -12 to 12', (g, [a]) => g.op1('Gelu', [a!]), [randn([64, 33], 4)]],
  // Products with the chains fuse.ts folds into them; shapes off the 4 x 4 blocks of the loops.
  ['MatMul, bias, Gelu and a residual, folded', (g, [x, w, b, r]) => g.op1('Add', [r!, g.op1('Gelu', [g.op1('Add', [g.op1('MatMul', [x!, w!]), b!])])]), [randn([5, 9]), randn([9, 7]), randn([7]), randn([5, 7])]],
  ['MatMul, mask and Softmax, folded', (g, [q, k, m]) => g.op1('Softmax', [g.op1('Add', [g.op1('MatMul', [q!, k!]), m!])], { axis: -1 }), [randn([1, 2, 6, 3]), randn([1, 2, 3, 6]), randn([1, 1, 1, 6])]],
  ['Add of two products, then Relu (one product takes the Add)', (g, [x, a, b]) => g.op1('Relu', [g.op1('Add', [g.op1('MatMul', [x!, a!]), g.op1('MatMul', [x!, b!])])]), [randn([5, 3]), randn([3, 6]), randn([3, 6])]],
  ['MatMul read twice: its Add is not folded', (g, [x, w, b]) => { const y = g.op1('MatMul', [x!, w!]); return g.op1('Mul', [g.op1('Add', [y, b!]), y]); }, [randn([3, 4]), randn([4, 5]), randn([5])]],
  ['MatMul with a bias that broadcasts rows, not columns ([n,1])', (g, [x, w, b]) => g.op1('Add', [g.op1('MatMul', [x!, w!]), b!]), [randn([6, 4]), randn([4, 5]), randn([6, 1])]],
  // Values, scale and zero point side by side (one float output): ties to even, and a negative minimum.
  ['DynamicQuantizeLinear, ties to even', (g, [x]) => dqlAll(g, x!), [new Tensor('float32', [8], Float32Array.of(0, 0.5, 1.5, 2.5, 3.5, 100.5, 253.5, 255))]],
  ['DynamicQuantizeLinear, a negative minimum', (g, [x]) => dqlAll(g, x!), [randn([3, 7], 3)]],
  ['MatMulInteger, k = 600 (past one exact chunk), odd n, then Cast and scale, folded', (g, [a, b, za, zb, s]) => g.op1('Mul', [g.op1('Cast', [g.op1('MatMulInteger', [a!, b!, za!, zb!])], { to: 1 }), s!]), [bytesOf('uint8', [5, 600]), bytesOf('uint8', [600, 7]), bytesOf('uint8', []), bytesOf('uint8', [7]), randn([7])]],
  ['MatMulInteger alone (int32), int8 weights', (g, [a, b, za]) => g.op1('MatMulInteger', [a!, b!, za!]), [bytesOf('uint8', [3, 2, 40]), bytesOf('int8', [40, 9]), bytesOf('uint8', [])]],
];

async function both(build: Case[1], inputs: Tensor[]): Promise<[number[], number[]]> {
  const g = new Graph('case');
  const names = inputs.map((t, i) => g.input(`x${i}`, t.dtype, t.dims));
  g.output(build(g, names));
  const bytes = encodeModel(g);
  const feeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, t]));
  const ref = Object.values(await run(await createSession(bytes), feeds))[0]!;
  const micro = await MicroSession.create(bytes);
  const microFeeds = Object.fromEntries(inputs.map((t, i) => [`x${i}`, new MicroTensor(t.dtype as 'float32', t.data as Float32Array, t.dims)]));
  const out = Object.values(await micro.run(microFeeds))[0]!;
  expect(out.dims).toEqual(ref.dims);
  expect(out.type).toBe(ref.dtype);
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
