// The loops under every product micro computes: c = a b for float32 (MatMul, Conv through im2col,
// int4 weights unpacked a panel at a time) and exact integer products of int8 values, two columns to
// each float64. Every array is one type at each call site: V8 shares type feedback between closures
// made at one place in the source, so each loop here is written once, for the types it takes.
import { scratch } from '../tensor.js';

/**
 * c[i][t] = sum over p of a[i][p] * b[p][t], for the m rows of a [m x k] (row-major at `ao`) and four
 * columns of b, whose value (p, t) lies at b[bo + p * stride + t]; c's rows are `n` apart. Four rows
 * by four columns at a time: each loaded value serves four products, and the sixteen sums stay in
 * registers until the end.
 */
function panel4(a: Float32Array, ao: number, m: number, k: number, b: Float32Array, bo: number, stride: number, c: Float32Array, co: number, n: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = ao + i * k, a1 = a0 + k, a2 = a1 + k, a3 = a2 + k;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let p = 0, bp = bo; p < k; p++, bp += stride) {
      const y0 = b[bp]!, y1 = b[bp + 1]!, y2 = b[bp + 2]!, y3 = b[bp + 3]!;
      let x = a[a0 + p]!; s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
      x = a[a1 + p]!; s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
      x = a[a2 + p]!; s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
      x = a[a3 + p]!; s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
    }
    let at = co + i * n;
    c[at] = s00; c[at + 1] = s01; c[at + 2] = s02; c[at + 3] = s03; at += n;
    c[at] = s10; c[at + 1] = s11; c[at + 2] = s12; c[at + 3] = s13; at += n;
    c[at] = s20; c[at + 1] = s21; c[at + 2] = s22; c[at + 3] = s23; at += n;
    c[at] = s30; c[at + 1] = s31; c[at + 2] = s32; c[at + 3] = s33;
  }
  for (; i < m; i++) {
    const ai = ao + i * k;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0, bp = bo; p < k; p++, bp += stride) {
      const x = a[ai + p]!;
      s0 += x * b[bp]!; s1 += x * b[bp + 1]!; s2 += x * b[bp + 2]!; s3 += x * b[bp + 3]!;
    }
    const at = co + i * n;
    c[at] = s0; c[at + 1] = s1; c[at + 2] = s2; c[at + 3] = s3;
  }
}

/** One column of c, for the columns left over after the panels of four. */
function column(a: Float32Array, ao: number, m: number, k: number, b: Float32Array, bo: number, stride: number, c: Float32Array, co: number, n: number): void {
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let p = 0, bp = bo; p < k; p++, bp += stride) s += a[ao + i * k + p]! * b[bp]!;
    c[co + i * n] = s;
  }
}

/** c[m x n] = a[m x k] b[k x n], all row-major at the offsets given (c is overwritten). */
export function gemm(a: Float32Array, ao: number, b: Float32Array, bo: number, c: Float32Array, co: number, m: number, k: number, n: number): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) panel4(a, ao, m, k, b, bo + j, n, c, co + j, n);
  for (; j < n; j++) column(a, ao, m, k, b, bo + j, n, c, co + j, n);
}

/**
 * c[m x n] = a[m x k] times b, where b is given a panel of four columns at a time by `panel(j, into)`,
 * which writes b's columns j..j+3 into `into` as [k x 4] (zeros past n). For weights kept packed
 * (int4): only one panel is ever unpacked.
 */
export function gemmPanels(a: Float32Array, m: number, k: number, n: number, c: Float32Array, panel: (j: number, into: Float32Array) => void): void {
  const into = scratch('panel', k * 4, Float32Array);
  for (let j = 0; j < n; j += 4) {
    panel(j, into);
    if (j + 4 <= n) panel4(a, 0, m, k, into, 0, 4, c, j, n);
    else for (let t = j; t < n; t++) column(a, 0, m, k, into, t - j, 4, c, t, n);
  }
}

/** Two integer columns in one float64: the low one, plus the high one times 2^26. */
const LANE = 2 ** 26;
/**
 * The longest dot product whose two packed sums stay exact and apart: |a b| <= 255 * 255, so a low
 * sum of 512 terms stays under 2^25 (half a lane) and the whole under 2^53.
 */
export const PAIR_DEPTH = 512;

/** b [k x n] of small integers (|v| <= 255) as [k x ceil(n / 2)] float64s, columns paired. */
export function pairColumns(b: Float32Array, k: number, n: number): Float64Array {
  const half = Math.ceil(n / 2), out = new Float64Array(k * half);
  for (let p = 0; p < k; p++) {
    for (let h = 0; h < half; h++) out[p * half + h] = b[p * n + 2 * h]! + (2 * h + 1 < n ? b[p * n + 2 * h + 1]! * LANE : 0);
  }
  return out;
}

/**
 * c[m x n] += a[m x k] b for integer a (|v| <= 255) and b paired by pairColumns, exactly: each
 * float64 multiply-add computes two products at once (SWAR in the mantissa), so this loop does the
 * work of the float32 one in half the multiply-adds. k at most PAIR_DEPTH per call.
 */
export function gemmPairs(a: Float32Array, ao: number, lda: number, m: number, k: number, b: Float64Array, bo: number, half: number, c: Float64Array, n: number): void {
  let h = 0;
  for (; h + 4 <= half; h += 4) pairs4(a, ao, lda, m, k, b, bo + h, half, c, n, 2 * h);
  for (; h < half; h++) {
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0, bp = bo + h; p < k; p++, bp += half) s += a[ao + i * lda + p]! * b[bp]!;
      unpair(c, i * n + 2 * h, n, s);
    }
  }
}

/** Four packed columns (eight of c) for every row of a, four rows at a time. */
function pairs4(a: Float32Array, ao: number, lda: number, m: number, k: number, b: Float64Array, bo: number, half: number, c: Float64Array, n: number, col: number): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = ao + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
    let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
    let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
    for (let p = 0, bp = bo; p < k; p++, bp += half) {
      const y0 = b[bp]!, y1 = b[bp + 1]!, y2 = b[bp + 2]!, y3 = b[bp + 3]!;
      let x = a[a0 + p]!; s00 += x * y0; s01 += x * y1; s02 += x * y2; s03 += x * y3;
      x = a[a1 + p]!; s10 += x * y0; s11 += x * y1; s12 += x * y2; s13 += x * y3;
      x = a[a2 + p]!; s20 += x * y0; s21 += x * y1; s22 += x * y2; s23 += x * y3;
      x = a[a3 + p]!; s30 += x * y0; s31 += x * y1; s32 += x * y2; s33 += x * y3;
    }
    unpair4(c, i * n + col, n, s00, s01, s02, s03);
    unpair4(c, (i + 1) * n + col, n, s10, s11, s12, s13);
    unpair4(c, (i + 2) * n + col, n, s20, s21, s22, s23);
    unpair4(c, (i + 3) * n + col, n, s30, s31, s32, s33);
  }
  for (; i < m; i++) {
    const ai = ao + i * lda;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let p = 0, bp = bo; p < k; p++, bp += half) {
      const x = a[ai + p]!;
      s0 += x * b[bp]!; s1 += x * b[bp + 1]!; s2 += x * b[bp + 2]!; s3 += x * b[bp + 3]!;
    }
    unpair4(c, i * n + col, n, s0, s1, s2, s3);
  }
}

function unpair4(c: Float64Array, at: number, n: number, s0: number, s1: number, s2: number, s3: number): void {
  unpair(c, at, n, s0); unpair(c, at + 2, n, s1); unpair(c, at + 4, n, s2); unpair(c, at + 6, n, s3);
}

/** Adds the two columns a packed sum holds to c at `at` (the second only if it lies before column n). */
function unpair(c: Float64Array, at: number, n: number, s: number): void {
  const high = Math.floor(s / LANE + 0.5);
  c[at] = c[at]! + (s - high * LANE);
  if ((at % n) + 1 < n) c[at + 1] = c[at + 1]! + high;
}
