// A quantization scheme decides, for each weight a quantizer can rewrite (src/compress/weights.ts),
// what it becomes. `minnow compress` applies the rewrites; quantization-aware training feeds the
// forward pass the values the stored weights stand for. Both read the same plan, so a model trained
// against the plan compresses to the model it was trained as.
import type { Graph } from '../../onnx/graph.js';
import type { Tensor } from '../../onnx/tensor.js';
import { matmulSites } from '../weights.js';

export interface WeightPlan {
  weight: string;
  /** Quantized by the scheme; false when held back (kept float, or int8 under int4). */
  quantized: boolean;
  /** Rewrites the graph to store the weight this way; absent when it stays float. */
  rewrite?: (g: Graph) => void;
  /** The values the stored weight stands for; absent when it stays float. */
  fake?: (w: Tensor) => Float32Array;
}

export interface SchemeOptions {
  /** Weights held back from the scheme's own format (keptWeights). */
  keep: Set<string>;
  /** int4 block size: 16, 32, 64 or 128 (default 32). */
  blockSize?: number;
  /** int4: symmetric codes around 8 (default), or per-block zero points. */
  symmetric?: boolean;
  /** int4 MatMulNBits accuracy_level: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8 compute. */
  accuracyLevel?: number;
  /** int4: what held-back matrices become, int8 weight-only (default) or float32. */
  keptPrecision?: 'int8' | 'float32';
  /** Weights that stay float32 under any scheme: those trained on the device (finetunable.ts). */
  float?: Set<string>;
}

export interface QuantScheme {
  name: 'int8' | 'int4';
  /** Every quantizable weight of the graph, in the order the rewrites apply. */
  plan(g: Graph, options: SchemeOptions): WeightPlan[];
}

/** Which weights to hold back: the last matrix (the head), the first and last, none, or a list of names. */
export type KeepRule = 'last' | 'first,last' | 'none' | string[];

export function keptWeights(g: Graph, keep: KeepRule = 'last'): Set<string> {
  if (Array.isArray(keep)) return new Set(keep);
  const sites = matmulSites(g);
  if (keep === 'none' || sites.length === 0) return new Set();
  return new Set(keep === 'last' ? [sites.at(-1)!.weight] : [sites[0]!.weight, sites.at(-1)!.weight]);
}
