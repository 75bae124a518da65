// The decoder-only LM for generation with a KV cache: each call takes the new tokens and every
// layer's past keys/values ([batch, heads, past, head_dim]) and returns the logits of the new tokens
// and the presents (past + new). Parameter names match transformerLM, so a trained model's weights
// drop in. The first call passes pasts of length 0.
import type { Graph } from '../onnx/graph.js';
import { Rng } from '../format/rng.js';
import { Graph as GraphClass } from '../onnx/graph.js';
import { Scope, normal } from './scope.js';
import { activate, causalMask, embedding, layerNorm, linear } from './layers.js';
import type { TransformerConfig } from './models.js';
import { pastKeyName, pastValueName, presentKeyName, presentValueName } from '../format/names.js';

export interface DecoderModel {
  graph: Graph;
  logits: string;
  pastNames: { key: string; value: string }[];
  presentNames: { key: string; value: string }[];
}

export function buildDecoderWithPast(arch: TransformerConfig, vocab: number, seed = 0): DecoderModel {
  const g = new GraphClass('minnow-decoder');
  const s = new Scope(g, new Rng(seed));
  const { dim, heads } = arch;
  const headDim = arch.headDim ?? dim / heads;
  const inner = heads * headDim;
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const pasts = Array.from({ length: arch.layers }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', ['batch', heads, 'past', headDim]),
    value: g.input(pastValueName(i), 'float32', ['batch', heads, 'past', headDim]),
  }));
  // Positions continue after the past: past .. past + seq.
  const pastLen = g.op1('Shape', [pasts[0]!.key], { start: 2, end: 3 });
  const newLen = g.op1('Shape', [ids], { start: 1, end: 2 });
  const total = g.op1('Add', [pastLen, newLen]);
  const scalar = (t: string) => g.op1('Squeeze', [t, g.int64s([0])]);
  const positions = g.op1('Range', [scalar(pastLen), scalar(total), g.scalar(1, 'int64')]);
  let x = embedding(s.sub('tok_emb'), ids, vocab, dim);
  const posTable = s.sub('pos_emb').param('weight', [arch.ctx, dim], normal(0.02));
  x = g.op1('Add', [x, g.op1('Gather', [posTable, positions], { axis: 0 })]);
  // New token i (position past + i) may see keys 0 .. past + i.
  const mask = causalMask(g, positions, scalar(total));
  const presents: { key: string; value: string }[] = [];
  for (let i = 0; i < arch.layers; i++) {
    const b = s.sub(`layers.${i}`);
    const a = b.sub('attn');
    const h = layerNorm(b.sub('ln1'), x);
    const qkv = linear(a.sub('qkv'), h, 3 * inner, { init: normal(0.02) });
    const [q, k, v] = g.op('Split', [qkv, g.int64s([inner, inner, inner])], { axis: -1 }, { outputs: 3 }) as [string, string, string];
    const heads4 = (t: string) => g.op1('Transpose', [g.op1('Reshape', [t, g.int64s([0, 0, heads, headDim])])], { perm: [0, 2, 1, 3] });
    const qh = heads4(g.op1('Mul', [q, g.scalar(1 / Math.sqrt(headDim), 'float32')]));
    const key = g.op1('Concat', [pasts[i]!.key, heads4(k)], { axis: 2 });
    const value = g.op1('Concat', [pasts[i]!.value, heads4(v)], { axis: 2 });
    presents.push({ key: g.alias(key, presentKeyName(i)), value: g.alias(value, presentValueName(i)) });
    const scores = g.op1('Add', [g.op1('MatMul', [qh, g.op1('Transpose', [key], { perm: [0, 1, 3, 2] })]), mask]);
    const ctx = g.op1('MatMul', [g.op1('Softmax', [scores], { axis: -1 }), value]);
    const merged = g.op1('Reshape', [g.op1('Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.int64s([0, 0, inner])]);
    x = g.op1('Add', [x, linear(a.sub('out'), merged, dim, { init: normal(0.02) })]);
    const f = b.sub('ffn');
    const hidden = activate(f, linear(f.sub('fc1'), layerNorm(b.sub('ln2'), x), arch.ff, { init: normal(0.02) }), arch.activation ?? 'gelu');
    x = g.op1('Add', [x, linear(f.sub('fc2'), hidden, dim, { init: normal(0.02) })]);
  }
  const logits = g.alias(linear(s.sub('head'), layerNorm(s.sub('ln_f'), x), vocab, { bias: false, init: normal(0.02) }), 'logits');
  g.output(logits);
  for (const p of presents) { g.output(p.key); g.output(p.value); }
  return { graph: g, logits, pastNames: pasts, presentNames: presents };
}

/** The decoder graph carrying a trained LM's weights (same parameter names) and metadata. */
export function decoderFromTrained(trained: Graph, arch: TransformerConfig, vocab: number): Graph {
  const dec = buildDecoderWithPast(arch, vocab);
  for (const name of [...dec.graph.initializers.keys()]) {
    const w = trained.initializers.get(name);
    if (!w) throw new Error(`the trained model has no parameter '${name}' for the decoder`);
    dec.graph.initializers.set(name, w);
    dec.graph.constants.set(name, w);
  }
  for (const [k, v] of trained.metadata) dec.graph.metadata.set(k, v);
  return dec.graph;
}
