// Whole models: a pre-LN Transformer encoder classifier, a decoder-only Transformer LM, an MLP and a
// small CNN. Each builds a forward graph whose inputs and outputs are named for the runtime.
import { Graph, type Dim } from '../onnx/graph.js';
import { ONNX_DATA_TYPE, type DType } from '../onnx/tensor.js';
import { Rng } from '../format/rng.js';
import type { Task } from '../format/metadata.js';
import { Scope, kaiming, normal } from './scope.js';
import { activate, dropout, embedding, feedForward, layerNorm, linear, positionalEmbedding, type Activation } from './layers.js';
import { multiHeadAttention, paddingBias } from './attention.js';

export type { Task };

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

export interface MlpConfig {
  kind: 'mlp';
  hidden: number[];
  activation?: Activation;
  dropout?: number;
}

export interface CnnConfig {
  kind: 'cnn';
  /** Output channels of each 3x3 conv block (each followed by ReLU and 2x2 max-pool). */
  channels: number[];
  /** Width of the dense layer before the classifier (0 for none). */
  hidden: number;
  dropout?: number;
}

/** A Vision Transformer: non-overlapping patches, a pre-LN encoder, mean pooling. */
export interface VitConfig {
  kind: 'vit';
  layers: number;
  dim: number;
  heads: number;
  headDim?: number;
  ff: number;
  patch: number;
  activation?: Activation;
  dropout?: number;
}

export type ArchConfig = TransformerConfig | MlpConfig | CnnConfig | VitConfig;

export interface ModelShape {
  task: Task;
  /** Token vocabulary (text tasks). */
  vocabSize?: number;
  /** Number of labels (classify/image). */
  numClasses?: number;
  /** [channels, height, width] (image task). */
  imageShape?: [number, number, number];
}

export interface BuildOptions {
  seed: number;
  training?: boolean;
  dtype?: DType;
}

export interface ModelInput { name: string; dtype: DType; shape: Dim[] }

export interface BuiltModel {
  graph: Graph;
  inputs: ModelInput[];
  /** [batch, classes] or, for language models, [batch, seq, vocab]. */
  logits: string;
}

export function buildModel(arch: ArchConfig, shape: ModelShape, options: BuildOptions): BuiltModel {
  const g = new Graph('minnow');
  const s = new Scope(g, new Rng(options.seed), '', options.dtype ?? 'float32', options.training ?? false);
  switch (arch.kind) {
    case 'transformer':
      return shape.task === 'lm' ? transformerLM(s, arch, shape) : transformerClassifier(s, arch, shape);
    case 'mlp': return mlp(s, arch, shape);
    case 'cnn': return cnn(s, arch, shape);
    case 'vit': return vit(s, arch, shape);
  }
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the model needs ${what}`);
  return value;
}

function transformerBlocks(s: Scope, x: string, arch: Pick<TransformerConfig, 'layers' | 'heads' | 'headDim' | 'ff' | 'activation' | 'dropout'>, attn: { paddingBias?: string; causal: boolean }): string {
  // GPT-2 scales the residual projections by 1/sqrt(2 * layers) so the residual stream's variance
  // does not grow with depth.
  const outInit = normal(0.02 / Math.sqrt(2 * arch.layers));
  for (let i = 0; i < arch.layers; i++) {
    const b = s.sub(`layers.${i}`);
    const a = multiHeadAttention(b.sub('attn'), layerNorm(b.sub('ln1'), x), {
      heads: arch.heads, headDim: arch.headDim, paddingBias: attn.paddingBias, causal: attn.causal,
      dropout: arch.dropout, seed: 1000 * i, outInit,
    });
    x = s.g.op1('Add', [x, a], {}, { name: `layers.${i}.res1` });
    const f = feedForward(b.sub('ffn'), layerNorm(b.sub('ln2'), x), arch.ff, {
      activation: arch.activation, dropout: arch.dropout, seed: 1000 * i + 10, outInit,
    });
    x = s.g.op1('Add', [x, f], {}, { name: `layers.${i}.res2` });
  }
  return layerNorm(s.sub('ln_f'), x);
}

function transformerClassifier(s: Scope, arch: TransformerConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const vocab = need(shape.vocabSize, 'a vocabulary size');
  const classes = need(shape.numClasses, 'the number of classes');
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
  let x = embedding(s.sub('tok_emb'), ids, vocab, arch.dim);
  x = positionalEmbedding(s.sub('pos_emb'), x, arch.ctx);
  x = dropout(s, x, arch.dropout ?? 0, 7);
  const h = transformerBlocks(s, x, arch, { paddingBias: paddingBias(s, mask), causal: false });
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
  const logits = g.alias(linear(s.sub('head'), pooled, classes, { init: normal(0.02) }), 'logits');
  g.output(logits);
  // The pooled features, for model.embed() in the runtime.
  g.output(g.alias(pooled, 'embeddings'));
  return { graph: g, logits, inputs: [{ name: ids, dtype: 'int64', shape: ['batch', 'seq'] }, { name: mask, dtype: 'int64', shape: ['batch', 'seq'] }] };
}

function transformerLM(s: Scope, arch: TransformerConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const vocab = need(shape.vocabSize, 'a vocabulary size');
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  let x = embedding(s.sub('tok_emb'), ids, vocab, arch.dim);
  x = positionalEmbedding(s.sub('pos_emb'), x, arch.ctx);
  x = dropout(s, x, arch.dropout ?? 0, 7);
  const h = transformerBlocks(s, x, arch, { causal: true });
  const logits = g.alias(linear(s.sub('head'), h, vocab, { bias: false, init: normal(0.02) }), 'logits');
  g.output(logits);
  return { graph: g, logits, inputs: [{ name: ids, dtype: 'int64', shape: ['batch', 'seq'] }] };
}

/** The classifier head of the image models: logits from features, both exposed as outputs. */
function imageClassifierHead(s: Scope, features: string, classes: number, pixels: string): BuiltModel {
  const { g } = s;
  const fanIn = g.shape(features)[1] as number;
  const logits = g.alias(linear(s.sub('head'), features, classes, { init: normal(1 / Math.sqrt(fanIn)) }), 'logits');
  g.output(logits);
  g.output(g.alias(features, 'embeddings'));
  return { graph: g, logits, inputs: [{ name: pixels, dtype: 'float32', shape: g.shape(pixels) }] };
}

function mlp(s: Scope, arch: MlpConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  const pixels = g.input('pixels', 'float32', ['batch', c, hgt, w]);
  let x = g.op1('Flatten', [pixels], { axis: 1 });
  arch.hidden.forEach((width, i) => {
    x = activate(s, linear(s.sub(`fc${i}`), x, width), arch.activation ?? 'relu');
    x = dropout(s, x, arch.dropout ?? 0, 100 + i);
  });
  return imageClassifierHead(s, x, classes, pixels);
}

function cnn(s: Scope, arch: CnnConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  const pixels = g.input('pixels', 'float32', ['batch', c, hgt, w]);
  let x = pixels;
  let inC = c;
  arch.channels.forEach((outC, i) => {
    const b = s.sub(`conv${i}`);
    const weight = b.param('weight', [outC, inC, 3, 3], kaiming(inC * 9));
    const bias = b.param('bias', [outC], { kind: 'zeros' });
    x = g.op1('Relu', [g.op1('Conv', [x, weight, bias], { pads: [1, 1, 1, 1], strides: [1, 1] }, { name: `conv${i}` })]);
    const [pooled] = g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, { outputs: 2, name: `pool${i}` });
    x = pooled!;
    inC = outC;
  });
  x = g.op1('Flatten', [x], { axis: 1 });
  if (arch.hidden > 0) {
    x = g.op1('Relu', [linear(s.sub('fc'), x, arch.hidden)]);
    x = dropout(s, x, arch.dropout ?? 0, 200);
  }
  return imageClassifierHead(s, x, classes, pixels);
}

function vit(s: Scope, arch: VitConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  if (hgt % arch.patch !== 0 || w % arch.patch !== 0) throw new Error(`vit: image ${hgt}x${w} is not divisible into ${arch.patch}x${arch.patch} patches`);
  const pixels = g.input('pixels', 'float32', ['batch', c, hgt, w]);
  const p = s.sub('patch_emb');
  const weight = p.param('weight', [arch.dim, c, arch.patch, arch.patch], normal(Math.sqrt(1 / (c * arch.patch * arch.patch))));
  const bias = p.param('bias', [arch.dim], { kind: 'zeros' });
  const patches = g.op1('Conv', [pixels, weight, bias], { strides: [arch.patch, arch.patch], pads: [0, 0, 0, 0] }, { name: 'patchify' });
  const tokens = (hgt / arch.patch) * (w / arch.patch);
  let x = g.op1('Transpose', [g.op1('Reshape', [patches, g.int64s([0, arch.dim, tokens])])], { perm: [0, 2, 1] });
  x = positionalEmbedding(s.sub('pos_emb'), x, tokens);
  const h = transformerBlocks(s, x, arch, { causal: false });
  const pooled = g.op1('ReduceMean', [h, g.int64s([1])], { keepdims: 0 }, { name: 'pooled' });
  const logits = g.alias(linear(s.sub('head'), pooled, classes, { init: normal(0.02) }), 'logits');
  g.output(logits);
  // The pooled features, for model.embed() in the runtime.
  g.output(g.alias(pooled, 'embeddings'));
  return { graph: g, logits, inputs: [{ name: pixels, dtype: 'float32', shape: ['batch', c, hgt, w] }] };
}
