// From logits to what students train on: log-probabilities at a temperature, in full or as the top
// k plus the mass of the tail.
import { toHalfArray } from '../src/format/fp16.js';
import { Rng } from '../src/format/rng.js';
import { fnv1a } from '../src/format/hash.js';

export interface SoftLabels {
  format: 'full' | 'topk' | 'sampled';
  log_probs: Float32Array | Uint16Array;
  indices?: Int32Array;
  tail_mass?: Float32Array;
}

/** Log-softmax of each row of `logits` (rows x vocab) at temperature T, into `out`. */
export function logSoftmaxRows(logits: Float32Array, rows: number, vocab: number, temperature: number, out = new Float32Array(rows * vocab)): Float32Array {
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    let max = -Infinity;
    for (let j = 0; j < vocab; j++) max = Math.max(max, logits[o + j]! / temperature);
    let sum = 0;
    for (let j = 0; j < vocab; j++) sum += Math.exp(logits[o + j]! / temperature - max);
    const lse = max + Math.log(sum);
    for (let j = 0; j < vocab; j++) out[o + j] = logits[o + j]! / temperature - lse;
  }
  return out;
}

/** Top k (descending) of each row of log-probabilities, with 1 - their summed probability. */
export function topKRows(logProbs: Float32Array, rows: number, vocab: number, k: number): { indices: Int32Array; values: Float32Array; tail: Float32Array } {
  const kk = Math.min(k, vocab);
  const indices = new Int32Array(rows * kk), values = new Float32Array(rows * kk), tail = new Float32Array(rows);
  const heapIdx = new Int32Array(kk);
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    // Partial selection: keep the k best seen so far in a small sorted buffer.
    let n = 0;
    for (let j = 0; j < vocab; j++) {
      const v = logProbs[o + j]!;
      if (n < kk) {
        let p = n++;
        while (p > 0 && logProbs[o + heapIdx[p - 1]!]! < v) { heapIdx[p] = heapIdx[p - 1]!; p--; }
        heapIdx[p] = j;
      } else if (v > logProbs[o + heapIdx[kk - 1]!]!) {
        let p = kk - 1;
        while (p > 0 && logProbs[o + heapIdx[p - 1]!]! < v) { heapIdx[p] = heapIdx[p - 1]!; p--; }
        heapIdx[p] = j;
      }
    }
    let mass = 0;
    for (let i = 0; i < kk; i++) {
      indices[r * kk + i] = heapIdx[i]!;
      values[r * kk + i] = logProbs[o + heapIdx[i]!]!;
      mass += Math.exp(values[r * kk + i]!);
    }
    tail[r] = Math.max(0, 1 - mass);
  }
  return { indices, values, tail };
}

/**
 * k tokens of each row drawn with replacement from its distribution (Sparse Logit Sampling, arXiv
 * 2503.16870): the share of draws of each token is an unbiased estimate of its probability, where a
 * renormalised top k is biased towards the head. Each row's draws are seeded by its own values, so
 * the same input always gets the same tokens.
 */
export function sampleRows(logProbs: Float32Array, rows: number, vocab: number, k: number): { indices: Int32Array; tail: Float32Array } {
  const indices = new Int32Array(rows * k);
  const tail = new Float32Array(rows);
  const cdf = new Float64Array(vocab);
  for (let r = 0; r < rows; r++) {
    const row = logProbs.subarray(r * vocab, (r + 1) * vocab);
    let total = 0;
    for (let j = 0; j < vocab; j++) cdf[j] = total += Math.exp(row[j]!);
    // NaN logits would draw token 0 every time, finite and wrong: pass the NaN on for the student's check.
    if (!Number.isFinite(total)) tail[r] = NaN;
    const rng = new Rng(fnv1a(new Uint8Array(row.buffer, row.byteOffset, row.byteLength)));
    const draws = Array.from({ length: k }, () => rng.next() * total).sort((a, b) => a - b);
    // Sorted draws walk the cumulative distribution once.
    let j = 0;
    draws.forEach((u, i) => {
      while (j < vocab - 1 && cdf[j]! <= u) j++;
      indices[r * k + i] = j;
    });
  }
  return { indices, tail };
}

export interface SoftLabelRequest { temperature: number; topK: number; sample?: boolean; fp16: boolean }

export function softLabels(logits: Float32Array, rows: number, vocab: number, request: SoftLabelRequest): SoftLabels {
  const { temperature, topK, fp16 } = request;
  const logProbs = logSoftmaxRows(logits, rows, vocab, temperature);
  if (topK > 0 && request.sample) {
    const { indices, tail } = sampleRows(logProbs, rows, vocab, topK);
    const weights = new Float32Array(rows * topK).fill(-Math.log(topK));
    return { format: 'sampled', indices, tail_mass: tail, log_probs: fp16 ? toHalfArray(weights) : weights };
  }
  if (topK > 0 && topK < vocab) {
    const { indices, values, tail } = topKRows(logProbs, rows, vocab, topK);
    return { format: 'topk', indices, tail_mass: tail, log_probs: fp16 ? toHalfArray(values) : values };
  }
  return { format: 'full', log_probs: fp16 ? toHalfArray(logProbs) : logProbs };
}

/**
 * KL(p || q) where q keeps p's top k and spreads the tail mass uniformly over the other tokens:
 * the information a student loses by receiving top-k + tail instead of the full distribution.
 */
export function topKTailKL(logProbs: Float32Array, rows: number, vocab: number, k: number): number {
  const { indices, tail } = topKRows(logProbs, rows, vocab, k);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * vocab;
    const inTop = new Set<number>();
    for (let i = 0; i < k; i++) inTop.add(indices[r * k + i]!);
    const rest = vocab - inTop.size;
    const qTail = rest > 0 ? Math.log(Math.max(tail[r]!, 1e-30) / rest) : 0;
    for (let j = 0; j < vocab; j++) {
      if (inTop.has(j)) continue; // p == q on the top k
      const lp = logProbs[o + j]!;
      total += Math.exp(lp) * (lp - qTail);
    }
  }
  return total / rows;
}
