// The text Transformer: a pre-LN encoder classifier (mean or [CLS] pooling) or a decoder-only
// language model, which also builds as the KV-cache decoder of decoder.onnx with the same parameter
// names. Structured pruning drops layers, heads, FFN neurons and residual channels.
import { ONNX_DATA_TYPE } from '../../onnx/tensor.js';
import type { Graph } from '../../onnx/graph.js';
import { INPUT, OUTPUT, pastKeyName, pastValueName, presentKeyName, presentValueName } from '../../format/names.js';
import { causalMask, dropout, embedding, linear, positionalEmbedding, tokenPositions, type Activation } from '../layers.js';
import { paddingBias, type KeyValues } from '../attention.js';
import { classifierHead } from '../heads.js';
import { transformerBlocks, type BlockConfig } from '../transformer-block.js';
import { normal, type Scope } from '../scope.js';
import type { BuiltModel, ModelShape } from '../models.js';
import { need, type ModelKind } from './kind.js';
import { activation, fraction, positiveInt, specParts, SpecError, type SpecEntries } from './spec-values.js';
import { planBlocks } from './blocks-plan.js';
import { axisNorms2, onlyTargets, take } from './prune.js';

export interface TransformerConfig {
  kind: 'transformer';
  layers: number;
  dim: number;
  heads: number;
  /** Width of each attention head (default dim / heads). */
  headDim?: number;
  ff: number;
  ctx: number;
  /** Classifier pooling: masked mean over tokens, or the first ([CLS]) token. */
  pool?: 'mean' | 'cls';
  activation?: Activation;
  dropout?: number;
}

/** The keys the text Transformer and the ViT share (layers, dim, heads, head_dim, ff, activation, dropout). */
export function parseBlockKeys(e: SpecEntries, spec: string, defaults: { layers: number; dim: number; heads: number }): BlockConfig & { dim: number } {
  const dim = positiveInt(e.get('dim') ?? String(defaults.dim), 'dim');
  const heads = positiveInt(e.get('heads') ?? String(defaults.heads), 'heads');
  const cfg: BlockConfig & { dim: number } = {
    layers: positiveInt(e.get('layers') ?? String(defaults.layers), 'layers'), dim, heads,
    ff: positiveInt(e.get('ff') ?? String(4 * dim), 'ff'),
    dropout: fraction(e.get('dropout') ?? '0', 'dropout'),
  };
  const act = activation(e.get('activation'));
  if (act) cfg.activation = act;
  // head_dim=N sets the attention width per head; without it, dim must split evenly into heads.
  const headDim = e.get('head_dim');
  if (headDim !== undefined) cfg.headDim = positiveInt(headDim, 'head_dim');
  else if (dim % heads !== 0) throw new SpecError(`model spec '${spec}': dim ${dim} must be divisible by heads ${heads} (or give head_dim)`);
  return cfg;
}

function parse(e: SpecEntries, spec: string): TransformerConfig {
  const blocks = parseBlockKeys(e, spec, { layers: 2, dim: 128, heads: 4 });
  const cfg: TransformerConfig = { kind: 'transformer', ...blocks, ctx: positiveInt(e.get('ctx') ?? '128', 'ctx') };
  const pool = e.get('pool');
  if (pool !== undefined && pool !== 'mean' && pool !== 'cls') throw new SpecError(`pool=${pool}: expected mean or cls`);
  if (pool) cfg.pool = pool;
  return cfg;
}

function format(a: TransformerConfig): string[] {
  return specParts({ layers: a.layers, dim: a.dim, heads: a.heads, head_dim: a.headDim, ff: a.ff, ctx: a.ctx, pool: a.pool, activation: a.activation, dropout: a.dropout });
}

/** Token and position embeddings of input_ids, with dropout; `positions` as tokenPositions gives them. */
function embed(s: Scope, arch: TransformerConfig, ids: string, vocab: number, positions?: string): string {
  const x = embedding(s.sub('tok_emb'), ids, vocab, arch.dim);
  return dropout(s, positionalEmbedding(s.sub('pos_emb'), x, arch.ctx, positions), arch.dropout ?? 0, 7);
}

function classifier(s: Scope, arch: TransformerConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const classes = need(shape.numClasses, 'the number of classes');
  const ids = g.input(INPUT.ids, 'int64', ['batch', 'seq']);
  const mask = g.input(INPUT.mask, 'int64', ['batch', 'seq']);
  const x = embed(s, arch, ids, need(shape.vocabSize, 'a vocabulary size'));
  const { hidden: h } = transformerBlocks(s, x, arch, { paddingBias: paddingBias(s, mask) });
  let pooled: string;
  if (arch.pool === 'cls') {
    pooled = g.op1('Squeeze', [g.op1('Slice', [h, g.int64s([0]), g.int64s([1]), g.int64s([1])]), g.int64s([1])], {}, { name: 'pooled' });
  } else {
    // Mean over real tokens only: sum(h * mask) / sum(mask).
    const m = g.op1('Unsqueeze', [g.op1('Cast', [mask], { to: ONNX_DATA_TYPE[s.dtype] }), g.int64s([2])]);
    const total = g.op1('ReduceSum', [g.op1('Mul', [h, m]), g.int64s([1])], { keepdims: 0 });
    const count = g.op1('Max', [g.op1('ReduceSum', [m, g.int64s([1])], { keepdims: 0 }), g.scalar(1, s.dtype)]);
    pooled = g.op1('Div', [total, count], {}, { name: 'pooled' });
  }
  const logits = classifierHead(s, pooled, classes, normal(0.02));
  return { graph: g, logits, inputs: [{ name: ids, dtype: 'int64', shape: ['batch', 'seq'] }, { name: mask, dtype: 'int64', shape: ['batch', 'seq'] }] };
}

/** Each layer's past keys and values as graph inputs ([batch, heads, past, head_dim]). */
function pastInputs(g: Graph, arch: TransformerConfig): KeyValues[] {
  const headDim = arch.headDim ?? arch.dim / arch.heads;
  return Array.from({ length: arch.layers }, (_, i) => ({
    key: g.input(pastKeyName(i), 'float32', ['batch', arch.heads, 'past', headDim]),
    value: g.input(pastValueName(i), 'float32', ['batch', arch.heads, 'past', headDim]),
  }));
}

/**
 * The language model; with a cache, the decoder of decoder.onnx: it takes the new tokens and every
 * layer's past keys/values, and returns the new tokens' logits and the presents (past + new).
 */
function languageModel(s: Scope, arch: TransformerConfig, shape: ModelShape, cache: boolean): BuiltModel {
  const { g } = s;
  const vocab = need(shape.vocabSize, 'a vocabulary size');
  const ids = g.input(INPUT.ids, 'int64', ['batch', 'seq']);
  const past = cache ? pastInputs(g, arch) : undefined;
  const pastLength = past ? g.op1('Shape', [past[0]!.key], { start: 2, end: 3 }) : undefined;
  const positions = tokenPositions(g, ids, pastLength);
  const x = embed(s, arch, ids, vocab, positions);
  // Token i (at position past + i) sees keys 0 .. past + i; the mask is computed at run time, so the
  // file stores no [ctx, ctx] table.
  const seq = g.op1('Shape', [ids], { start: 1, end: 2 });
  const keys = g.op1('Squeeze', [pastLength ? g.op1('Add', [pastLength, seq]) : seq, g.int64s([0])]);
  const mask = causalMask(g, positions, keys, s.dtype);
  if (!cache) g.types.set(mask, { dtype: s.dtype, shape: [g.shape(ids)[1]!, g.shape(ids)[1]!] });
  const { hidden, presents } = transformerBlocks(s, x, arch, { causalMask: mask, past });
  const logits = g.output(g.alias(linear(s.sub('head'), hidden, vocab, { bias: false, init: normal(0.02) }), OUTPUT.logits));
  presents.forEach((p, i) => { g.output(g.alias(p.key, presentKeyName(i))); g.output(g.alias(p.value, presentValueName(i))); });
  return { graph: g, logits, inputs: [{ name: ids, dtype: 'int64', shape: ['batch', 'seq'] }] };
}

export const transformer: ModelKind<TransformerConfig> = {
  name: 'transformer',
  keys: ['layers', 'dim', 'heads', 'head_dim', 'ff', 'ctx', 'pool', 'activation', 'dropout'],
  tasks: ['classify', 'lm'],
  parse,
  format,
  build: (s, arch, shape, context) => (shape.task === 'lm' ? languageModel(s, arch, shape, context.cache ?? false) : classifier(s, arch, shape)),
  planPruning(arch, targets, w) {
    onlyTargets(targets, ['layers', 'dim', 'heads', 'ff'], `--structured channels/hidden are for CNN and MLP models; a transformer takes layers, dim, heads, ffn`);
    return planBlocks(arch, targets, w, {
      channelNorms: axisNorms2(w('tok_emb.weight'), 1),
      take: (name, D) => (name === 'tok_emb.weight' ? take(w(name), 1, D) : undefined),
    });
  },
};
