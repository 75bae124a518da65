// The building blocks: each function creates its parameters in a scope and returns its output.
import type { DType } from '../onnx/tensor.js';
import type { Graph } from '../onnx/graph.js';
import { dropout as dropoutOp, gelu, relu } from '../onnx/ops/elementwise.js';
import { layerNorm as layerNormOp } from '../onnx/ops/normalization.js';
import { Scope, kaiming, normal, ones, zeros, type Init } from './scope.js';

export interface LinearOptions { bias?: boolean; init?: Init }

/** y = x W + b, W of shape [in, out]; x's last dim must be static. */
export function linear(s: Scope, x: string, outFeatures: number, options: LinearOptions = {}): string {
  const { g } = s;
  const inFeatures = g.shape(x).at(-1);
  if (typeof inFeatures !== 'number') throw new Error(`linear '${s.prefix}': input's last dim must be static, got [${g.shape(x)}]`);
  const w = s.param('weight', [inFeatures, outFeatures], options.init ?? kaiming(inFeatures));
  const y = g.op1('MatMul', [x, w], {}, { name: `${s.prefix}.matmul` });
  if (options.bias === false) return y;
  return g.op1('Add', [y, s.param('bias', [outFeatures], zeros)], {}, { name: `${s.prefix}.out` });
}

/** Rows of a [vocab, dim] table for int64 ids of any shape. */
export function embedding(s: Scope, ids: string, vocab: number, dim: number, init: Init = normal(0.02)): string {
  const table = s.param('weight', [vocab, dim], init);
  return s.g.op1('Gather', [table, ids], { axis: 0 }, { name: `${s.prefix}.lookup` });
}

/**
 * Adds a learned position vector to each of x's positions (x: [batch, seq, dim]): positions 0 .. seq,
 * or the 1-D int64 `positions` given (a decoder's continue after its cache). Positions stay below ctx.
 */
export function positionalEmbedding(s: Scope, x: string, ctx: number, positions = tokenPositions(s.g, x)): string {
  const { g } = s;
  const dim = g.shape(x).at(-1) as number;
  const table = s.param('weight', [ctx, dim], normal(0.02));
  const pos = g.op1('Gather', [table, positions], { axis: 0 }, { name: `${s.prefix}.lookup` });
  g.types.set(pos, { dtype: s.dtype, shape: [g.shape(x)[1]!, dim] });
  return g.op1('Add', [x, pos], {}, { name: `${s.prefix}.out` });
}

/** The positions of x's tokens ([batch, seq, ...]): offset .. offset + seq, offset an int64 [1] (default 0). */
export function tokenPositions(g: Graph, x: string, offset?: string): string {
  const seq = g.op1('Shape', [x], { start: 1, end: 2 });
  const scalar = (t: string) => g.op1('Squeeze', [t, g.int64s([0])]);
  const start = offset ? scalar(offset) : g.scalar(0, 'int64');
  const end = offset ? scalar(g.op1('Add', [offset, seq])) : scalar(seq);
  return g.op1('Range', [start, end, g.scalar(1, 'int64')], {}, { name: 'positions' });
}

export function layerNorm(s: Scope, x: string, epsilon = 1e-5): string {
  const dim = s.g.shape(x).at(-1) as number;
  return layerNormOp(s.g, x, s.param('weight', [dim], ones), s.param('bias', [dim], zeros), epsilon);
}

export function dropout(s: Scope, x: string, ratio: number, seed: number): string {
  if (!s.training || ratio <= 0) return x;
  return dropoutOp(s.g, x, ratio, seed);
}

export type Activation = 'gelu' | 'gelu_tanh' | 'relu';

export function activate(s: Scope, x: string, activation: Activation): string {
  if (activation === 'relu') return relu(s.g, x);
  return gelu(s.g, x, activation === 'gelu_tanh' ? 'tanh' : 'none');
}

export interface FeedForwardOptions { activation?: Activation; dropout?: number; seed?: number; outInit?: Init }

/** Position-wise two-layer MLP: dim -> hidden -> dim. */
export function feedForward(s: Scope, x: string, hidden: number, options: FeedForwardOptions = {}): string {
  const dim = s.g.shape(x).at(-1) as number;
  const h = activate(s, linear(s.sub('fc1'), x, hidden, { init: normal(0.02) }), options.activation ?? 'gelu');
  const y = linear(s.sub('fc2'), h, dim, { init: options.outInit ?? normal(0.02) });
  return dropout(s, y, options.dropout ?? 0, options.seed ?? 0);
}

/**
 * An additive causal mask [queries, keys]: 0 where a key's position is at most the query's, -1e9
 * after it. `queryPositions` is a 1-D int64 tensor and `keyCount` an int64 scalar; the mask is
 * computed at run time, so the file stores no [ctx, ctx] table.
 */
export function causalMask(g: Graph, queryPositions: string, keyCount: string, dtype: DType = 'float32'): string {
  const keys = g.op1('Range', [g.scalar(0, 'int64'), keyCount, g.scalar(1, 'int64')]);
  const future = g.op1('Greater', [g.op1('Unsqueeze', [keys, g.int64s([0])]), g.op1('Unsqueeze', [queryPositions, g.int64s([1])])]);
  return g.op1('Where', [future, g.scalar(-1e9, dtype), g.scalar(0, dtype)], {}, { name: 'causal' });
}
