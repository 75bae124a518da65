// Matrix products: float32 MatMul with numpy batch broadcasting, the int8 path that minnow's
// dynamic quantization exports (DynamicQuantizeLinear + MatMulInteger, exact integer dot products),
// and int4 weights (com.microsoft MatMulNBits), unpacked a panel of four columns at a time. Each
// takes the epilogue that fuse.ts gives it (bias, scale, activation, softmax), applied in place.
import { MicroTensor, WEIGHTS, broadcastOffsets, lastDim, scratch, zeros } from '../tensor.js';
import { broadcastDims } from './elementwise.js';
import { PAIR_DEPTH, gemm, gemmPairs, gemmPanels, pairColumns } from './gemm.js';
import { applyStep, finish } from './epilogue.js';
import { intAttr, type Kernel } from './kernel.js';

/** Batched float32 product of [..., m, k] and [..., k, n], batch dims broadcast as numpy does. */
function matMul(a: MicroTensor, b: MicroTensor): MicroTensor {
  const ad = a.dims.length === 1 ? [1, a.dims[0]!] : a.dims, bd = b.dims.length === 1 ? [b.dims[0]!, 1] : b.dims;
  const [m, k] = ad.slice(-2) as [number, number], [k2, n] = bd.slice(-2) as [number, number];
  if (k2 !== k) throw new Error(`MatMul of [${a.dims}] and [${b.dims}]: inner dims differ`);
  const batch = broadcastDims(ad.slice(0, -2), bd.slice(0, -2));
  const out = zeros('float32', [...batch, m, n]);
  const ia = broadcastOffsets(ad.slice(0, -2), batch), ib = broadcastOffsets(bd.slice(0, -2), batch);
  const av = a.data as Float32Array, bv = b.data as Float32Array, o = out.data as Float32Array;
  for (let i = 0; i < ia.length; i++) gemm(av, ia[i]! * m * k, bv, ib[i]! * k * n, o, i * m * n, m, k, n);
  const dims = [...batch, ...(a.dims.length === 1 ? [] : [m]), ...(b.dims.length === 1 ? [] : [n])];
  return new MicroTensor('float32', o, dims);
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

/** x to the nearest integer, ties to even (through Math.floor: V8's Math.round costs ten times more). */
function roundEven(x: number): number {
  const r = Math.floor(x + 0.5);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** a's uint8 or int8 values less its zero point, as float32 (exact: |v| <= 255), in an array kept between products. */
function centredRows(a: MicroTensor, zp: MicroTensor | undefined): Float32Array {
  const v = a.data as Uint8Array | Int8Array, z = zp ? Number(zp.data[0]) : 0;
  const out = scratch('rows', v.length, Float32Array);
  for (let i = 0; i < v.length; i++) out[i] = v[i]! - z;
  return out;
}

const PAIRED = new WeakMap<object, { zp: MicroTensor | undefined; n: number; paired: Float64Array }>();

/** The int8 weight b [k x n] less its zero points (one, or one per column), paired for gemmPairs; a weight's once. */
function pairedWeight(b: MicroTensor, zp: MicroTensor | undefined): Float64Array {
  const [k, n] = b.dims as [number, number];
  // Keyed by the array, and checked against the zero point and width it was paired with (a view may differ).
  const cached = WEIGHTS.has(b.data) ? PAIRED.get(b.data) : undefined;
  if (cached && cached.zp === zp && cached.n === n) return cached.paired;
  const v = b.data as Uint8Array | Int8Array, z = zp?.data as Uint8Array | Int8Array | undefined;
  const centred = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) centred[i] = v[i]! - (z ? (z.length === 1 ? z[0]! : z[i % n]!) : 0);
  const paired = pairColumns(centred, k, n);
  if (WEIGHTS.has(b.data)) PAIRED.set(b.data, { zp, n, paired });
  return paired;
}

/**
 * MatMulInteger of a [..., k] and a 2-D weight [k x n]: the exact integer products, as int32, or as
 * float32 where fuse.ts folded the Cast that follows into the node (the same rounding as the Cast).
 */
function matMulInteger([a, b, azp, bzp]: (MicroTensor | undefined)[], toFloat: boolean): MicroTensor {
  if (b!.dims.length !== 2) throw new Error(`minnow/micro multiplies by a 2-D B only, not [${b!.dims}]`);
  if (azp && azp.size !== 1) throw new Error('minnow/micro takes one zero point for A, not one per row');
  const [k, n] = b!.dims as [number, number];
  if (lastDim(a!) !== k) throw new Error(`MatMulInteger of [${a!.dims}] and [${b!.dims}]: inner dims differ`);
  const m = a!.size / k, half = Math.ceil(n / 2);
  const x = centredRows(a!, azp), w = pairedWeight(b!, bzp), sums = scratchSums(m * n);
  for (let p = 0; p < k; p += PAIR_DEPTH) gemmPairs(x, p, k, m, Math.min(PAIR_DEPTH, k - p), w, p * half, half, sums, n);
  const out = zeros(toFloat ? 'float32' : 'int32', [...a!.dims.slice(0, -1), n]);
  (out.data as Float32Array | Int32Array).set(sums);
  return out;
}

/** The exact sums of one product, zeroed. */
function scratchSums(size: number): Float64Array {
  const sums = scratch('sums', size, Float64Array).subarray(0, size);
  sums.fill(0);
  return sums;
}

/**
 * MatMulNBits: a [..., K] times the transpose of 4-bit b [N, K]. The weights stay packed: each panel
 * of four output columns is unpacked into a [K x 4] scratch just before the rows of a pass over it.
 */
function matMulNBits([a, b, scales, zeroPoints]: (MicroTensor | undefined)[], K: number, N: number, block: number): MicroTensor {
  const out = zeros('float32', [...a!.dims.slice(0, -1), N]);
  const blocks = Math.ceil(K / block), blob = block / 2, zpRow = Math.ceil(blocks / 2);
  const packed = b!.data as Uint8Array, s = scales!.data as Float32Array, zp = zeroPoints?.data as Uint8Array | undefined;
  gemmPanels(a!.data as Float32Array, a!.size / K, K, N, out.data as Float32Array, (j, into) => {
    into.fill(0);
    for (let t = 0; t < 4 && j + t < N; t++) {
      const row = j + t;
      for (let bk = 0; bk < blocks; bk++) {
        const at = row * blocks + bk, scale = s[at]!;
        // Zero points: two a byte, low nibble first, each row padded to whole bytes.
        const zbyte = zp ? zp[row * zpRow + (bk >> 1)]! : 0;
        const zero = zp ? (bk & 1 ? zbyte >> 4 : zbyte & 15) : 8;
        for (let i = 0, p = bk * block; i < block && p < K; i++, p++) {
          const byte = packed[at * blob + (i >> 1)]!;
          into[p * 4 + t] = ((i & 1 ? byte >> 4 : byte & 15) - zero) * scale;
        }
      }
    }
  });
  return out;
}

export const MATMUL: Record<string, Kernel> = {
  MatMul: (inputs, node) => [finish(matMul(inputs[0]!, inputs[1]!), inputs, node)],
  MatMulInteger: (inputs, node) => [finish(matMulInteger(inputs, node.castToFloat === true), inputs, node)],
  DynamicQuantizeLinear: ([x]) => dynamicQuantize(x!),
  MatMulNBits: (inputs, node) => {
    const out = matMulNBits(inputs, intAttr(node, 'K', 0), intAttr(node, 'N', 0), intAttr(node, 'block_size', 32));
    return [finish(inputs[5] ? applyStep(out, { op: 'Add', input: 5 }, inputs, node) : out, inputs, node)];
  },
};
