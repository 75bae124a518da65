// Why minnow/micro's spam student cannot come within 3x of onnxruntime-web: the float32 products.
// micro's gemm (scalar JavaScript: V8 has no SIMD for JS) against onnxruntime-web's MatMul (wasm
// SIMD, one thread) on the spam student's own shapes, in one run, plus micro's exact int8 loop (two
// products per float64 multiply-add). Multiply-adds per second, and the ratio. wasm's figure
// includes each run's copy of both inputs into its memory, and its B is an input (no prepacking):
// the whole student's run in bench/micro.ts is the figure that counts.
//   npx tsx bench/micro-gemm.ts [--runs 50]
import { parseArgs } from 'node:util';
import * as ortWeb from 'onnxruntime-web';
import { Graph } from '../src/onnx/graph.js';
import { encodeModel } from '../src/onnx/codec.js';
import { gemm, gemmPairs, pairColumns } from '../runtime/micro/kernels/gemm.js';
import { timeIt } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '50' } } });
const runs = Number(values.runs);
ortWeb.env.wasm.numThreads = 1;


// [m, k, n] of student-tiny (dim 64, 2 heads, ff 256, ctx 256): qkv, scores, context, out, fc1, fc2.
const SHAPES: [string, number, number, number][] = [
  ['qkv', 256, 64, 192], ['q k^T (a head)', 256, 32, 256], ['probs v (a head)', 256, 256, 32], ['out', 256, 64, 64], ['fc1', 256, 64, 256], ['fc2', 256, 256, 64],
];
const rows: Record<string, Record<string, number>> = {};
for (const [name, m, k, n] of SHAPES) {
  const a = Float32Array.from({ length: m * k }, () => Math.random() - 0.5), b = Float32Array.from({ length: k * n }, () => Math.random() - 0.5);
  const c = new Float32Array(m * n);
  const g = new Graph('matmul');
  g.output(g.op1('MatMul', [g.input('a', 'float32', [m, k]), g.input('b', 'float32', [k, n])]));
  const session = await ortWeb.InferenceSession.create(encodeModel(g));
  const feeds = { a: new ortWeb.Tensor('float32', a, [m, k]), b: new ortWeb.Tensor('float32', b, [k, n]) };
  const ints = Float32Array.from(a, (v) => Math.round(v * 500)), paired = pairColumns(Float32Array.from(b, (v) => Math.round(v * 500)), k, n), sums = new Float64Array(m * n);
  const gmacs = (ms: number) => Number(((m * k * n) / ms / 1e6).toFixed(2));
  const micro = await timeIt(() => gemm(a, 0, b, 0, c, 0, m, k, n), runs);
  const pairs = await timeIt(() => { sums.fill(0); gemmPairs(ints, 0, k, m, k, paired, 0, Math.ceil(n / 2), sums, n); }, runs);
  const wasm = await timeIt(() => session.run(feeds), runs);
  rows[`${name} ${m}x${k}x${n}`] = { 'micro fp32 GMAC/s': gmacs(micro), 'micro int8 pairs GMAC/s': gmacs(pairs), 'wasm fp32 GMAC/s': gmacs(wasm), 'wasm / micro fp32': Number((micro / wasm).toFixed(2)) };
  await session.release();
}
// The student's multiply-adds: two layers of qkv, two heads of scores and context, out, fc1 and fc2.
const perLayer = 256 * 64 * 192 + 2 * 256 * 32 * 256 + 2 * 256 * 256 * 32 + 256 * 64 * 64 + 2 * 256 * 64 * 256;
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, threads: 1, student_tiny_macs: 2 * perLayer, rows }, null, 2));
