// What a structured-pruning plan is, and the slicing and scoring helpers the kinds' plans share. A
// plan scores each unit (layer, head, neuron, channel) from the weights alone, keeps the best, and
// says where each parameter of the smaller model comes from (src/compress/prune/structured.ts
// rebuilds the model from it).
import { Tensor } from '../../onnx/tensor.js';

/** The widths to prune down to; each kind takes the keys that fit it. */
export interface StructuredTargets {
  /** Transformer and ViT: layers, residual width, heads per layer, FFN neurons per layer. */
  layers?: number;
  dim?: number;
  heads?: number;
  ff?: number;
  /** CNN: channels of each conv block. */
  channels?: number[];
  /** CNN: the dense layer's width (one value); MLP: each hidden layer's width. */
  hidden?: number[];
}

export class StructuredPruneError extends Error {
  override name = 'StructuredPruneError';
}

/** A float32 parameter of the model being pruned, by name. */
export type WeightReader = (name: string) => Tensor;

export interface PrunePlan<C> {
  /** The smaller architecture. */
  arch: C;
  /** Each parameter of the smaller model: the kept slices of the original. */
  source: (name: string) => Tensor;
}

/** Copies of `t` along `axis` at the indices `idx`. */
export function take(t: Tensor, axis: number, idx: number[]): Tensor {
  const dims = [...t.dims];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const src = t.data as Float32Array;
  const out = new Float32Array(outer * idx.length * inner);
  for (let o = 0; o < outer; o++) {
    idx.forEach((i, k) => out.set(src.subarray((o * n + i) * inner, (o * n + i + 1) * inner), (o * idx.length + k) * inner));
  }
  dims[axis] = idx.length;
  return new Tensor('float32', dims, out);
}

/** Sum of squares of each slice along `axis`. */
export function axisNorms2(t: Tensor, axis: number): Float64Array {
  const dims = t.dims;
  const n = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float64Array(n);
  (t.data as Float32Array).forEach((v, i) => { out[Math.floor(i / inner) % n]! += v * v; });
  return out;
}

/** Indices of the k largest scores, in ascending index order (ties: the lower index). */
export function topIndices(scores: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: scores.length }, (_, i) => i)
    .sort((a, b) => scores[b]! - scores[a]! || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
}

export const sqrt = (a: Float64Array) => a.map(Math.sqrt);
export const mul = (a: Float64Array, b: Float64Array) => a.map((v, i) => v * b[i]!);
export const range = (n: number) => Array.from({ length: n }, (_, i) => i);
export const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);

/** The target width, checked to be no wider than the model's. */
export function checkTarget(what: string, target: number | undefined, current: number): number {
  if (target === undefined) return current;
  if (target > current) throw new StructuredPruneError(`--structured ${what}=${target}: the model has only ${current}; pruning can only shrink`);
  return target;
}

/** Refuses target keys that belong to other kinds. */
export function onlyTargets(t: StructuredTargets, allowed: (keyof StructuredTargets)[], message: string): void {
  if (Object.entries(t).some(([k, v]) => v !== undefined && !allowed.includes(k as keyof StructuredTargets))) throw new StructuredPruneError(message);
}
