// micro's product loops against a float64 reference: the float32 panels off their 4 x 4 blocks,
// and the paired integer loop exact, at the largest values and the deepest chunk.
import { describe, expect, it } from 'vitest';
import { PAIR_DEPTH, gemm, gemmPairs, gemmPanels, pairColumns } from '../../runtime/micro/kernels/gemm.js';
import { Rng } from '../../src/format/rng.js';

const rng = new Rng(3);
function reference(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) { let s = 0; for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!; c[i * n + j] = s; }
  return c;
}

describe('micro product loops', () => {
  for (const [m, k, n] of [[1, 5, 3], [4, 4, 4], [7, 13, 9], [9, 2, 17]] as [number, number, number][]) {
    it(`gemm and gemmPanels, ${m} x ${k} x ${n}`, () => {
      const a = Float32Array.from({ length: m * k }, () => rng.normal()), b = Float32Array.from({ length: k * n }, () => rng.normal());
      const ref = reference(a, b, m, k, n), c = new Float32Array(m * n).fill(NaN), d = new Float32Array(m * n).fill(NaN);
      gemm(a, 0, b, 0, c, 0, m, k, n);
      gemmPanels(a, m, k, n, d, (j, into) => { into.fill(0); for (let p = 0; p < k; p++) for (let t = 0; t < 4 && j + t < n; t++) into[p * 4 + t] = b[p * n + j + t]!; });
      ref.forEach((r, i) => { expect(Math.abs(c[i]! - r)).toBeLessThan(1e-5); expect(d[i]).toBe(c[i]); });
    });
  }

  it('gemmPairs is exact at |values| of 255 over a whole chunk, for odd n, rows off the blocks and a row stride past k', () => {
    const [m, k, n, lda] = [6, PAIR_DEPTH, 11, PAIR_DEPTH + 3];
    // Rows of a: all +255, all -255, and random; b: columns of +255 and -255 in both lanes of a pair
    // (0 and 1, 2 and 3), and random ones. Sums reach 512 x 255 x 255 both ways, the lanes' limit.
    const a = Float32Array.from({ length: m * lda }, (_, i) => { const row = Math.floor(i / lda); return row === 0 ? 255 : row === 1 ? -255 : rng.int(511) - 255; });
    const b = Float32Array.from({ length: k * n }, (_, i) => { const col = i % n; return col === 0 || col === 3 ? -255 : col === 1 || col === 2 ? 255 : rng.int(511) - 255; });
    const c = new Float64Array(m * n);
    gemmPairs(a, 0, lda, m, k, pairColumns(b, k, n), 0, Math.ceil(n / 2), c, n);
    const dense = Float32Array.from({ length: m * k }, (_, i) => a[Math.floor(i / k) * lda + (i % k)]!);
    expect(Array.from(c)).toEqual(Array.from(reference(dense, b, m, k, n)));
    expect(Math.max(...c)).toBe(PAIR_DEPTH * 255 * 255);
    expect(Math.min(...c)).toBe(-PAIR_DEPTH * 255 * 255);
  });
});
