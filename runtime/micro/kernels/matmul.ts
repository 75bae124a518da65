// Matrix products: float32 MatMul with numpy batch broadcasting, the int8 path that minnow's
// dynamic quantization exports (DynamicQuantizeLinear + MatMulInteger, 32-bit accumulation), and
// int4 weights (com.microsoft MatMulNBits), unpacked one block at a time.
import { MicroTensor, WEIGHTS, offsets, sizeOf, zeros } from '../tensor.js';
import { broadcastDims } from './elementwise.js';
import { intAttr, type Kernel } from './kernel.js';

/** c[m x n] += a[m x k] times b, given as bt [n x k] (b transposed), at the offsets given. */
type Gemm = (a: ArrayLike<number>, ao: number, bt: ArrayLike<number>, bo: number, c: Float32Array | Int32Array, co: number, m: number, k: number, n: number) => void;

/** Weights transposed once (activations each time; the map holds neither longer than its tensor). */
const TRANSPOSED = new WeakMap<object, Float32Array | Int32Array>();

/** Each [k x n] matrix of b as [n x k], so that every output is a dot product over contiguous memory. */
function transposed(b: Float32Array | Int32Array, k: number, n: number): Float32Array | Int32Array {
  const cached = WEIGHTS.has(b) ? TRANSPOSED.get(b) : undefined;
  if (cached) return cached;
  const out = b instanceof Int32Array ? new Int32Array(b.length) : new Float32Array(b.length);
  for (let at = 0; at < b.length; at += k * n) {
    for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[at + j * k + p] = b[at + p * n + j]!;
  }
  if (WEIGHTS.has(b)) TRANSPOSED.set(b, out);
  return out;
}

/**
 * c[m x n] += a[m x k] b[k x n] as dot products of a's rows with b's columns (b transposed first),
 * four columns at a time: each value of a's row is loaded once for four products, and the four sums
 * stay in registers instead of being stored after every multiply. Made once per element type: V8
 * keeps type feedback per closure, and a loop that has seen only Float32Arrays (or only
 * Int32Arrays) stays fast.
 */
function makeGemm(): Gemm {
  // One row of c, four columns at a time: a's value loaded once for four products.
  const row = (a: ArrayLike<number>, ai: number, bt: ArrayLike<number>, bo: number, c: Float32Array | Int32Array, ci: number, k: number, n: number) => {
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = bo + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < k; p++) {
        const x = a[ai + p]!;
        s0 += x * bt[b0 + p]!; s1 += x * bt[b1 + p]!; s2 += x * bt[b2 + p]!; s3 += x * bt[b3 + p]!;
      }
      c[ci + j] = c[ci + j]! + s0; c[ci + j + 1] = c[ci + j + 1]! + s1; c[ci + j + 2] = c[ci + j + 2]! + s2; c[ci + j + 3] = c[ci + j + 3]! + s3;
    }
    for (; j < n; j++) {
      let s0 = 0;
      for (let p = 0; p < k; p++) s0 += a[ai + p]! * bt[bo + j * k + p]!;
      c[ci + j] = c[ci + j]! + s0;
    }
  };
  return (a, ao, bt, bo, c, co, m, k, n) => {
    let i = 0;
    // Two rows by four columns: eight sums in registers, each loaded value used four or two times.
    for (; i + 2 <= m; i += 2) {
      const a0 = ao + i * k, a1 = a0 + k, c0 = co + i * n, c1 = c0 + n;
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        const b0 = bo + j * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
        let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        for (let p = 0; p < k; p++) {
          const x0 = a[a0 + p]!, x1 = a[a1 + p]!;
          const y0 = bt[b0 + p]!, y1 = bt[b1 + p]!, y2 = bt[b2 + p]!, y3 = bt[b3 + p]!;
          s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
          s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
        }
        c[c0 + j] = c[c0 + j]! + s00; c[c0 + j + 1] = c[c0 + j + 1]! + s01; c[c0 + j + 2] = c[c0 + j + 2]! + s02; c[c0 + j + 3] = c[c0 + j + 3]! + s03;
        c[c1 + j] = c[c1 + j]! + s10; c[c1 + j + 1] = c[c1 + j + 1]! + s11; c[c1 + j + 2] = c[c1 + j + 2]! + s12; c[c1 + j + 3] = c[c1 + j + 3]! + s13;
      }
      if (j < n) { row(a, a0, bt, bo + j * k, c, c0 + j, k, n - j); row(a, a1, bt, bo + j * k, c, c1 + j, k, n - j); }
    }
    if (i < m) row(a, ao + i * k, bt, bo, c, co + i * n, k, n);
  };
}

export const gemm = makeGemm();
const gemmInt = makeGemm();

function batchIndex(dims: readonly number[], batch: readonly number[]): Int32Array {
  const pad = batch.length - dims.length;
  const strides = batch.map(() => 0);
  for (let d = batch.length - 1, s = 1; d >= pad; d--) { strides[d] = dims[d - pad] === 1 ? 0 : s; s *= dims[d - pad]!; }
  return offsets(batch, strides);
}

/** Batched product of [..., m, k] and [..., k, n], batch dims broadcast. */
function batched(a: MicroTensor, b: MicroTensor, into: 'float32' | 'int32', av: ArrayLike<number>, bv: Float32Array | Int32Array): MicroTensor {
  const ad = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims, bd = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
  const [m, k] = ad.slice(-2) as [number, number], n = bd.at(-1)!;
  if (bd.at(-2) !== k) throw new Error(`MatMul of [${a.dims}] and [${b.dims}]: inner dims differ`);
  const batch = broadcastDims(ad.slice(0, -2), bd.slice(0, -2));
  const out = zeros(into, [...batch, m, n]);
  const count = sizeOf(batch);
  // Which matrix of a and of b each output matrix takes, batch dims broadcast as numpy does.
  const ia = batchIndex(ad.slice(0, -2), batch), ib = batchIndex(bd.slice(0, -2), batch);
  const bt = transposed(bv, k, n);
  for (let i = 0; i < count; i++) {
    (into === 'int32' ? gemmInt : gemm)(av, ia[i]! * m * k, bt, ib[i]! * k * n, out.data as Float32Array, i * m * n, m, k, n);
  }
  const dims = [...batch, ...(a.dims.length === 1 ? [] : [m]), ...(b.dims.length === 1 ? [] : [n])];
  return new MicroTensor(into, out.data, dims);
}

/** DynamicQuantizeLinear: uint8 values, scale and zero point from the tensor's own range (round half to even). */
function dynamicQuantize(x: MicroTensor): MicroTensor[] {
  const v = x.data as Float32Array;
  let lo = 0, hi = 0;
  for (let i = 0; i < v.length; i++) { if (v[i]! < lo) lo = v[i]!; if (v[i]! > hi) hi = v[i]!; }
  // In float32 throughout, as onnxruntime computes it, so that ties round the same way.
  const scale = Math.fround(Math.fround(hi - lo) / 255) || 1;
  const zp = Math.min(255, Math.max(0, roundEven(Math.fround(-lo / scale))));
  const q = zeros('uint8', x.dims);
  const d = q.data as Uint8Array;
  for (let i = 0; i < v.length; i++) d[i] = Math.min(255, Math.max(0, roundEven(Math.fround(v[i]! / scale)) + zp));
  return [q, new MicroTensor('float32', Float32Array.of(scale), []), new MicroTensor('uint8', Uint8Array.of(zp), [])];
}

function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const CENTRED = new WeakMap<object, Int32Array>();

/** Values less their zero point (a scalar, or one per column of b); a weight's once. */
function centred(t: MicroTensor, zp: MicroTensor | undefined, columns: number): Int32Array {
  const cached = WEIGHTS.has(t.data) ? CENTRED.get(t.data) : undefined;
  if (cached) return cached;
  const v = t.data as Uint8Array | Int8Array, z = zp?.data as Uint8Array | Int8Array | undefined;
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! - (z ? (z.length === 1 ? z[0]! : z[i % columns]!) : 0);
  if (WEIGHTS.has(t.data)) CENTRED.set(t.data, out);
  return out;
}

const DEQUANTIZED = new WeakMap<object, Float32Array>();

/** 4-bit b [N, blocks, block/2 bytes] as float32 [N x K] (the layout the product reads), once per weight. */
function dequantized(b: MicroTensor, scales: MicroTensor, zeroPoints: MicroTensor | undefined, K: number, N: number, block: number): Float32Array {
  const cached = WEIGHTS.has(b.data) ? DEQUANTIZED.get(b.data) : undefined;
  if (cached) return cached;
  const blocks = Math.ceil(K / block), blob = block / 2;
  const packed = b.data as Uint8Array, s = scales.data as Float32Array, zp = zeroPoints?.data as Uint8Array | undefined;
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let bk = 0; bk < blocks; bk++) {
      const at = n * blocks + bk, scale = s[at]!;
      // Zero points: two a byte, low nibble first, each row padded to whole bytes.
      const zbyte = zp ? zp[n * Math.ceil(blocks / 2) + (bk >> 1)]! : 0;
      const zero = zp ? (bk & 1 ? zbyte >> 4 : zbyte & 15) : 8;
      for (let i = 0; i < block && bk * block + i < K; i++) {
        const byte = packed[at * blob + (i >> 1)]!;
        w[n * K + bk * block + i] = ((i & 1 ? byte >> 4 : byte & 15) - zero) * scale;
      }
    }
  }
  if (WEIGHTS.has(b.data)) DEQUANTIZED.set(b.data, w);
  return w;
}

/** MatMulNBits: a [..., K] times the transpose of 4-bit b [N, K], plus an optional bias. */
function matMulNBits([a, b, scales, zeroPoints, , bias]: (MicroTensor | undefined)[], K: number, N: number, block: number): MicroTensor {
  const w = dequantized(b!, scales!, zeroPoints, K, N, block);
  const out = zeros('float32', [...a!.dims.slice(0, -1), N]);
  gemm(a!.data as Float32Array, 0, w, 0, out.data as Float32Array, 0, a!.size / K, K, N);
  if (bias) { const o = out.data as Float32Array, bv = bias.data as Float32Array; for (let i = 0; i < o.length; i++) o[i] = o[i]! + bv[i % N]!; }
  return out;
}

export const MATMUL: Record<string, Kernel> = {
  MatMul: ([a, b]) => [batched(a!, b!, 'float32', a!.data as Float32Array, b!.data as Float32Array)],
  MatMulInteger: ([a, b, azp, bzp]) => [batched(a!, b!, 'int32', centred(a!, azp, 1), centred(b!, bzp, b!.dims.at(-1)!))],
  DynamicQuantizeLinear: ([x]) => dynamicQuantize(x!),
  MatMulNBits: (inputs, node) => {
    if (intAttr(node, 'bits', 4) !== 4) throw new Error(`MatMulNBits with ${String(node.attrs.bits)} bits is not supported by minnow/micro (4 only)`);
    return [matMulNBits(inputs, intAttr(node, 'K', 0), intAttr(node, 'N', 0), intAttr(node, 'block_size', 32))];
  },
};
