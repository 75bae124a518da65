// Multi-head scaled dot-product self-attention with an optional padding bias, causal mask and KV
// cache.
import { ONNX_DATA_TYPE } from '../onnx/tensor.js';
import { Scope, normal, type Init } from './scope.js';
import { dropout, linear } from './layers.js';

/** One layer's keys and values, [batch, heads, positions, head_dim]. */
export interface KeyValues { key: string; value: string }

export interface AttentionOptions {
  heads: number;
  /** Width of each head (default dim / heads); structured pruning keeps it when it drops heads. */
  headDim?: number;
  /** Additive bias [batch, 1, 1, seq] (0 keep, -1e9 drop) built by paddingBias(). */
  paddingBias?: string;
  /** Additive [queries, keys] mask built by causalMask(): each position sees itself and earlier ones. */
  causalMask?: string;
  /** Keys and values of the positions before these (a decoder's cache): attended to, and extended. */
  past?: KeyValues;
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

/**
 * The entries [start, end) of weight `name` (of `size` values) that change no output: the key part of
 * an attention's qkv bias. A shift shared by every key of a query leaves its softmax as it is, so
 * their gradient is zero but for rounding, which AdamW (dividing by each gradient's own size) would
 * turn into full steps that differ from one engine to the next.
 */
export function inertEntries(name: string, size: number): [number, number] | undefined {
  return /(^|\.)attn\.qkv\.bias$/.test(name) ? [size / 3, (2 * size) / 3] : undefined;
}

export function multiHeadAttention(s: Scope, x: string, options: AttentionOptions): string {
  return attention(s, x, options).output;
}

/** The attention output, and with `past` the keys and values extended by these positions. */
export function attention(s: Scope, x: string, options: AttentionOptions): { output: string; present?: KeyValues } {
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
  const toHeads = (t: string) => g.op1('Transpose', [heads4(t)], { perm: [0, 2, 1, 3] });
  const qh = toHeads(g.op1('Mul', [q, g.scalar(1 / Math.sqrt(headDim), s.dtype)]));
  let kT: string, vh: string, present: KeyValues | undefined;
  if (options.past) {
    present = { key: g.op1('Concat', [options.past.key, toHeads(k)], { axis: 2 }), value: g.op1('Concat', [options.past.value, toHeads(v)], { axis: 2 }) };
    kT = g.op1('Transpose', [present.key], { perm: [0, 1, 3, 2] });
    vh = present.value;
  } else {
    kT = g.op1('Transpose', [heads4(k)], { perm: [0, 2, 3, 1] });
    vh = toHeads(v);
  }
  let scores = g.op1('MatMul', [qh, kT], {}, { name: `${s.prefix}.scores` });
  if (options.causalMask) scores = g.op1('Add', [scores, options.causalMask]);
  if (options.paddingBias) scores = g.op1('Add', [scores, options.paddingBias]);
  let probs = g.op1('Softmax', [scores], { axis: -1 }, { name: `${s.prefix}.probs` });
  probs = dropout(s, probs, options.dropout ?? 0, (options.seed ?? 0) + 1);
  const ctx = g.op1('MatMul', [probs, vh]);
  const merged = g.op1('Reshape', [g.op1('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, inner])]);
  const out = linear(s.sub('out'), merged, dim, { init: options.outInit ?? normal(0.02) });
  return { output: dropout(s, out, options.dropout ?? 0, (options.seed ?? 0) + 2), present };
}
