// Multi-head scaled dot-product self-attention with an optional padding mask and causal mask.
import { ONNX_DATA_TYPE } from '../onnx/tensor.js';
import { Scope, normal, type Init } from './scope.js';
import { causalMask, dropout, linear } from './layers.js';

export interface AttentionOptions {
  heads: number;
  /** Width of each head (default dim / heads); structured pruning keeps it when it drops heads. */
  headDim?: number;
  /** Additive bias [batch, 1, 1, seq] (0 keep, -1e9 drop) built by paddingBias(). */
  paddingBias?: string;
  /** Each position attends to itself and earlier positions only. */
  causal?: boolean;
  dropout?: number;
  seed?: number;
  outInit?: Init;
}

/** [batch, seq] int64 mask (1 = token, 0 = padding) -> additive [batch, 1, 1, seq] float bias. */
export function paddingBias(s: Scope, mask: string): string {
  const { g } = s;
  const m = g.op1('Cast', [mask], { to: ONNX_DATA_TYPE[s.dtype] });
  const bias = g.op1('Mul', [g.op1('Sub', [g.scalar(1, s.dtype), m]), g.scalar(-1e9, s.dtype)]);
  return g.op1('Unsqueeze', [bias, g.int64s([1, 2])], {}, { name: 'padding_bias' });
}

export function multiHeadAttention(s: Scope, x: string, options: AttentionOptions): string {
  const { g } = s;
  const dim = g.shape(x).at(-1) as number;
  const { heads } = options;
  if (options.headDim === undefined && dim % heads !== 0) throw new Error(`attention '${s.prefix}': dim ${dim} is not divisible by ${heads} heads`);
  const headDim = options.headDim ?? dim / heads;
  const inner = heads * headDim;
  // One projection for q, k and v: a single larger GEMM beats three small ones.
  const qkv = linear(s.sub('qkv'), x, 3 * inner, { init: normal(0.02) });
  const [q, k, v] = g.op('Split', [qkv, g.int64s([inner, inner, inner])], { axis: -1 }, { outputs: 3, name: `${s.prefix}.split` }) as [string, string, string];
  const heads4 = (t: string) => g.op1('Reshape', [t, g.int64s([0, 0, heads, headDim])]);
  const qh = g.op1('Transpose', [heads4(g.op1('Mul', [q, g.scalar(1 / Math.sqrt(headDim), s.dtype)]))], { perm: [0, 2, 1, 3] });
  const kh = g.op1('Transpose', [heads4(k)], { perm: [0, 2, 3, 1] });
  const vh = g.op1('Transpose', [heads4(v)], { perm: [0, 2, 1, 3] });
  let scores = g.op1('MatMul', [qh, kh], {}, { name: `${s.prefix}.scores` });
  if (options.causal) {
    const seq = g.op1('Squeeze', [g.op1('Shape', [x], { start: 1, end: 2 }), g.int64s([0])]);
    const mask = causalMask(g, g.op1('Range', [g.scalar(0, 'int64'), seq, g.scalar(1, 'int64')]), seq, s.dtype);
    const t = g.shape(x)[1]!;
    g.types.set(mask, { dtype: s.dtype, shape: [t, t] });
    scores = g.op1('Add', [scores, mask]);
  }
  if (options.paddingBias) scores = g.op1('Add', [scores, options.paddingBias]);
  let probs = g.op1('Softmax', [scores], { axis: -1 }, { name: `${s.prefix}.probs` });
  probs = dropout(s, probs, options.dropout ?? 0, (options.seed ?? 0) + 1);
  const ctx = g.op1('MatMul', [probs, vh]);
  const merged = g.op1('Reshape', [g.op1('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, inner])]);
  const out = linear(s.sub('out'), merged, dim, { init: options.outInit ?? normal(0.02) });
  return dropout(s, out, options.dropout ?? 0, (options.seed ?? 0) + 2);
}

