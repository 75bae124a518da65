// Does float16 pay on onnxruntime's CPU provider? The ops of a Transformer step at teacher size
// ([2048 x 384] x [384 x 1536], then the op), float32 against float16, in one process. Each graph
// ends in a ReduceMax, so no output is copied out. p50 of 15 runs, 2 threads.
//   npx tsx bench/fp16-cpu.ts
import { Graph } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/codec.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { Tensor } from '../src/onnx/tensor.js';
import { median } from './timing.js';

const [M, K, N] = [2048, 384, 1536];
type Build = (g: Graph, product: string, b: string) => string;
const CASES: [string, Build][] = [
  ['MatMul', (_g, y) => y],
  ['MatMul, Gelu', (g, y) => g.op1('Gelu', [y])],
  ['MatMul, Mul, Add', (g, y) => g.op1('Add', [g.op1('Mul', [y, y]), y])],
  ['MatMul, LayerNormalization', (g, y, b) => g.op('LayerNormalization', [y, g.op1('Slice', [g.op1('Reshape', [b, g.int64s([-1])]), g.int64s([0]), g.int64s([N])])], { axis: -1 }, { outputs: 1 })[0]!],
];

async function time(dtype: 'float32' | 'float16', build: Build): Promise<number> {
  const g = new Graph();
  const a = g.input('a', dtype, [M, K]);
  const b = g.input('b', dtype, [K, N]);
  g.output(g.op1('ReduceMax', [build(g, g.op1('MatMul', [a, b]), b)], { keepdims: 0 }));
  const session = await createSession(encodeModel(g), { threads: 2 });
  // 0x2000 is float16 for 2^-7, 0.0078125: small enough that no product overflows.
  const fill = (n: number) => (dtype === 'float32' ? new Float32Array(n).fill(2 ** -7) : new Uint16Array(n).fill(0x2000));
  const feeds = { a: new Tensor(dtype, [M, K], fill(M * K)), b: new Tensor(dtype, [K, N], fill(K * N)) };
  for (let i = 0; i < 5; i++) await run(session, feeds);
  const times: number[] = [];
  for (let i = 0; i < 15; i++) { const t = performance.now(); await run(session, feeds); times.push(performance.now() - t); }
  return median(times);
}

console.log('| ops | float32 | float16 | float16 / float32 |');
console.log('| --- | --- | --- | --- |');
for (const [label, build] of CASES) {
  const f32 = await time('float32', build);
  const f16 = await time('float16', build);
  console.log(`| ${label} | ${f32.toFixed(2)} ms | ${f16.toFixed(2)} ms | ${(f16 / f32).toFixed(2)}x |`);
}
