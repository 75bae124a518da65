// Unstructured magnitude pruning: the smallest weights of all prunable matrices together (one global
// threshold, so layers keep what matters most) are set to zero. The trainer applies it gradually
// with masks; `minnow compress --prune` applies it once to a finished model.
import type { Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';

/** Weights worth pruning: MatMul and Conv weights (embeddings, biases and norms are kept). */
export function prunableWeights(g: Graph, names: Iterable<string>): string[] {
  const used = new Set(g.nodes.filter((n) => (n.opType === 'MatMul' || n.opType === 'Conv') && n.domain === '').map((n) => n.inputs[1]!));
  return [...names].filter((p) => used.has(p) && g.rank(p) >= 2);
}

/** Weights with |w| <= this are pruned to reach `sparsity` over all `tensors` (-1: prune none). */
export function magnitudeThreshold(tensors: Tensor[], sparsity: number): number {
  const total = tensors.reduce((n, t) => n + t.size, 0);
  const k = Math.floor(sparsity * total);
  if (k === 0) return -1;
  const magnitudes = new Float32Array(total);
  let i = 0;
  for (const t of tensors) for (const v of t.data as Float32Array) magnitudes[i++] = Math.abs(v);
  return magnitudes.sort()[k - 1]!;
}

/** 1 where a weight survives the threshold, 0 where it is pruned. */
export function magnitudeMask(w: Tensor, threshold: number): Tensor {
  return new Tensor('float32', w.dims, Float32Array.from(w.data as Float32Array, (v) => (Math.abs(v) > threshold ? 1 : 0)));
}

export interface PruneReport { sparsity: number; pruned: string[] }

/** One-shot global magnitude pruning of a graph's float MatMul and Conv weights, in place. */
export function pruneMagnitude(g: Graph, sparsity: number): PruneReport {
  if (!(sparsity >= 0 && sparsity < 1)) throw new Error(`sparsity must be in [0, 1), got ${sparsity}`);
  const names = prunableWeights(g, [...g.initializers.keys()].filter((n) => g.initializers.get(n)!.dtype === 'float32'));
  const threshold = magnitudeThreshold(names.map((n) => g.initializers.get(n)!), sparsity);
  let zeros = 0, total = 0;
  for (const name of names) {
    const w = g.initializers.get(name)!;
    const data = Float32Array.from(w.data as Float32Array, (v) => (Math.abs(v) > threshold ? v : 0));
    for (const v of data) zeros += Number(v === 0);
    total += data.length;
    const pruned = new Tensor('float32', w.dims, data);
    g.initializers.set(name, pruned);
    if (g.constants.has(name)) g.constants.set(name, pruned);
  }
  return { sparsity: total ? zeros / total : 0, pruned: names };
}
