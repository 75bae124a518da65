// Structured pruning: a model minnow built becomes the same architecture with fewer layers, a
// narrower residual stream, fewer attention heads, fewer FFN neurons (Transformer, ViT) or fewer
// conv channels and dense neurons (CNN, MLP). Each unit is scored from the weights alone (no data),
// the best are kept, and the model is rebuilt from the smaller spec with the kept slices copied in,
// so the result is a plain dense graph that any ONNX Runtime runs faster. Accuracy drops until
// recovery training: `minnow distill --init-from` or `minnow train --init-from`.
//
// Scores: an FFN neuron or dense unit j scores ||W_in[:, j]|| * ||W_out[j, :]|| (what it reads times
// what it writes); a head scores ||Wq_h||·||Wk_h|| + ||Wv_h||·||Wo_h||; a conv filter scores its own
// norm times the norm of the next layer's weights that read its channel; a residual channel scores
// the share of every residual reader's and writer's squared norm that sits on it; a layer scores
// the product of its input and output projection norms, summed over attention and FFN.
import { buildModel, type ArchConfig, type CnnConfig, type MlpConfig, type ModelShape, type Task, type TransformerConfig, type VitConfig } from '../../nn/models.js';
import { formatModelSpec, parseModelSpec } from '../../nn/spec.js';
import type { Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { META } from '../../format/metadata.js';

export interface StructuredTargets {
  /** Transformer / ViT: layers, residual width, heads per layer, FFN neurons per layer. */
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

const KEYS = ['layers', 'dim', 'heads', 'ff', 'ffn', 'channels', 'hidden'];

/** `heads=1,ffn=128,dim=48` or `channels=8-12,hidden=24`: the widths to prune down to. */
export function parseStructuredTargets(text: string): StructuredTargets {
  const targets: StructuredTargets = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [key, value] = part.split('=');
    if (!key || value === undefined || !KEYS.includes(key)) {
      throw new StructuredPruneError(`--structured '${part}': expected key=value with key one of ${KEYS.join(', ')}`);
    }
    const widths = value.split('-').map(Number);
    if (widths.some((w) => !Number.isInteger(w) || w <= 0)) throw new StructuredPruneError(`--structured ${part}: expected positive integers (a-b for several layers)`);
    if (key === 'channels' || key === 'hidden') targets[key] = widths;
    else {
      if (widths.length !== 1) throw new StructuredPruneError(`--structured ${part}: expected one number`);
      targets[key === 'ffn' ? 'ff' : (key as 'layers' | 'dim' | 'heads' | 'ff')] = widths[0]!;
    }
  }
  if (Object.keys(targets).length === 0) throw new StructuredPruneError(`--structured '${text}': nothing to prune; e.g. heads=1,ffn=128`);
  return targets;
}

export interface StructuredReport {
  spec_before: string;
  spec_after: string;
  params_before: number;
  params_after: number;
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

const sqrt = (a: Float64Array) => a.map(Math.sqrt);
const mul = (a: Float64Array, b: Float64Array) => a.map((v, i) => v * b[i]!);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);

function checkTarget(what: string, target: number | undefined, current: number): number {
  if (target === undefined) return current;
  if (target > current) throw new StructuredPruneError(`--structured ${what}=${target}: the model has only ${current}; pruning can only shrink`);
  return target;
}

export function pruneStructured(old: Graph, targets: StructuredTargets): { graph: Graph; report: StructuredReport } {
  const spec = old.metadata.get(META.model);
  const task = old.metadata.get(META.task) as Task | undefined;
  if (!spec || !task) throw new StructuredPruneError('structured pruning needs a model that minnow trained (its metadata names the architecture); this file has no minnow.model');
  const arch = parseModelSpec(spec);
  const w = (name: string): Tensor => {
    const t = old.initializers.get(name);
    if (!t || t.dtype !== 'float32') throw new StructuredPruneError(`structured pruning needs float32 weights, and '${name}' is ${t ? t.dtype : 'missing'}; prune before you quantize`);
    return t;
  };
  const shape = modelShape(old, task, arch, w);
  let plan: { arch: ArchConfig; source: (name: string) => Tensor };
  if (arch.kind === 'transformer' || arch.kind === 'vit') plan = planTransformer(arch, targets, w);
  else if (arch.kind === 'cnn') plan = planCnn(arch, targets, w);
  else plan = planMlp(arch, targets, w);

  const built = buildModel(plan.arch, shape, { seed: 0 }).graph;
  for (const [name, init] of [...built.initializers]) {
    if (!built.params.has(name)) continue;
    const value = plan.source(name);
    if (value.dims.join() !== init.dims.join()) throw new Error(`structured pruning: '${name}' came out [${value.dims}], the model wants [${init.dims}]`);
    built.initializers.set(name, value);
    built.constants.set(name, value);
  }
  for (const [k, v] of old.metadata) built.metadata.set(k, v);
  const specAfter = formatModelSpec(plan.arch);
  built.metadata.set(META.model, specAfter);
  // The old metrics describe the unpruned model; recovery training writes new ones.
  built.metadata.delete(META.metrics);
  // Parameters as training counts them (not constant tables such as the causal mask).
  const count = (names: Iterable<string>, g: Graph) => [...names].reduce((n, p) => n + g.initializers.get(p)!.size, 0);
  const paramsBefore = count(buildModel(arch, shape, { seed: 0 }).graph.params, old);
  return { graph: built, report: { spec_before: spec, spec_after: specAfter, params_before: paramsBefore, params_after: count(built.params, built) } };
}

function modelShape(g: Graph, task: Task, arch: ArchConfig, w: (n: string) => Tensor): ModelShape {
  if (task === 'image') {
    const dims = g.type('pixels').shape;
    if (dims.length !== 4 || dims.slice(1).some((d) => typeof d !== 'number')) throw new StructuredPruneError('structured pruning: the image input pixels has no static [c, h, w]');
    return { task, numClasses: w('head.weight').dims[1], imageShape: dims.slice(1) as [number, number, number] };
  }
  if (arch.kind !== 'transformer') throw new StructuredPruneError(`a ${task} model must be a transformer`);
  const vocabSize = w('tok_emb.weight').dims[0];
  return task === 'lm' ? { task, vocabSize } : { task, vocabSize, numClasses: w('head.weight').dims[1] };
}

function planTransformer(arch: TransformerConfig | VitConfig, t: StructuredTargets, w: (n: string) => Tensor) {
  if (t.channels || t.hidden) throw new StructuredPruneError(`--structured channels/hidden are for CNN and MLP models; a ${arch.kind} takes layers, dim, heads, ffn`);
  const headDim = arch.headDim ?? arch.dim / arch.heads;
  const inner = arch.heads * headDim;
  const layers = checkTarget('layers', t.layers, arch.layers);
  const dim = checkTarget('dim', t.dim, arch.dim);
  const heads = checkTarget('heads', t.heads, arch.heads);
  const ff = checkTarget('ff', t.ff, arch.ff);
  const L = (i: number, name: string) => w(`layers.${i}.${name}`);
  const norm = (n: Tensor) => Math.sqrt(sum(axisNorms2(n, 0)));

  const layerScore = range(arch.layers).map((i) => norm(L(i, 'attn.qkv.weight')) * norm(L(i, 'attn.out.weight')) + norm(L(i, 'ffn.fc1.weight')) * norm(L(i, 'ffn.fc2.weight')));
  const keptLayers = topIndices(layerScore, layers);

  // Residual channels: each reader (rows, scaled by its LayerNorm gain) and writer (columns) adds
  // the share of its squared norm that sits on the channel.
  const channel = new Float64Array(arch.dim);
  const addShare = (norms: Float64Array) => { const total = sum(norms) || 1; norms.forEach((v, c) => { channel[c]! += v / total; }); };
  const gained = (m: Tensor, gain: Tensor) => mul(axisNorms2(m, 0), (gain.data as Float32Array).reduce((a, g, i) => { a[i] = g * g; return a; }, new Float64Array(arch.dim)));
  if (arch.kind === 'transformer') addShare(axisNorms2(w('tok_emb.weight'), 1));
  else addShare(axisNorms2(w('patch_emb.weight'), 0));
  addShare(axisNorms2(w('pos_emb.weight'), 1));
  for (const i of keptLayers) {
    addShare(gained(L(i, 'attn.qkv.weight'), L(i, 'ln1.weight')));
    addShare(axisNorms2(L(i, 'attn.out.weight'), 1));
    addShare(gained(L(i, 'ffn.fc1.weight'), L(i, 'ln2.weight')));
    addShare(axisNorms2(L(i, 'ffn.fc2.weight'), 1));
  }
  addShare(gained(w('head.weight'), w('ln_f.weight')));
  const D = topIndices(channel, dim);

  const keptHeads = keptLayers.map((i) => {
    const qkv = axisNorms2(L(i, 'attn.qkv.weight'), 1);
    const out = axisNorms2(L(i, 'attn.out.weight'), 0);
    const slice = (a: Float64Array, from: number) => Math.sqrt(sum(a.subarray(from, from + headDim)));
    const score = range(arch.heads).map((h) => slice(qkv, h * headDim) * slice(qkv, inner + h * headDim) + slice(qkv, 2 * inner + h * headDim) * slice(out, h * headDim));
    return topIndices(score, heads).flatMap((h) => range(headDim).map((j) => h * headDim + j));
  });
  const keptFf = keptLayers.map((i) => topIndices(mul(sqrt(axisNorms2(L(i, 'ffn.fc1.weight'), 1)), sqrt(axisNorms2(L(i, 'ffn.fc2.weight'), 0))), ff));

  const next = { ...arch, layers, dim, heads, ff } as TransformerConfig | VitConfig;
  if (dim % heads !== 0 || dim / heads !== headDim) next.headDim = headDim;
  else delete next.headDim;
  const source = (name: string): Tensor => {
    const m = /^layers\.(\d+)\.(.+)$/.exec(name);
    if (!m) {
      if (name === 'tok_emb.weight' || name === 'pos_emb.weight') return take(w(name), 1, D);
      if (name.startsWith('patch_emb.') || name.startsWith('ln_f.') || name.startsWith('head.weight')) return take(w(name), 0, D);
      if (name === 'head.bias') return w(name);
      throw new Error(`structured pruning does not know the parameter '${name}'`);
    }
    const j = Number(m[1]), rest = m[2]!;
    const src = L(keptLayers[j]!, rest);
    const H = keptHeads[j]!, F = keptFf[j]!;
    const qkvCols = [0, 1, 2].flatMap((part) => H.map((c) => part * inner + c));
    switch (rest) {
      case 'ln1.weight': case 'ln1.bias': case 'ln2.weight': case 'ln2.bias': case 'attn.out.bias': case 'ffn.fc2.bias': return take(src, 0, D);
      case 'attn.qkv.weight': return take(take(src, 0, D), 1, qkvCols);
      case 'attn.qkv.bias': return take(src, 0, qkvCols);
      case 'attn.out.weight': return take(take(src, 0, H), 1, D);
      case 'ffn.fc1.weight': return take(take(src, 0, D), 1, F);
      case 'ffn.fc1.bias': return take(src, 0, F);
      case 'ffn.fc2.weight': return take(take(src, 0, F), 1, D);
      default: throw new Error(`structured pruning does not know the parameter '${name}'`);
    }
  };
  return { arch: next, source };
}

function planCnn(arch: CnnConfig, t: StructuredTargets, w: (n: string) => Tensor) {
  if (t.layers || t.dim || t.heads || t.ff) throw new StructuredPruneError('--structured layers/dim/heads/ffn are for Transformers; a cnn takes channels=a-b and hidden=n');
  const channels = t.channels ?? arch.channels;
  if (channels.length !== arch.channels.length) throw new StructuredPruneError(`--structured channels=${channels.join('-')}: the model has ${arch.channels.length} conv blocks (${arch.channels.join('-')})`);
  channels.forEach((c, i) => checkTarget(`channels[${i}]`, c, arch.channels[i]!));
  if (t.hidden && t.hidden.length !== 1) throw new StructuredPruneError('--structured hidden: a cnn has one dense layer; give one width');
  const hidden = checkTarget('hidden', t.hidden?.[0], arch.hidden);
  if (arch.hidden === 0 && t.hidden) throw new StructuredPruneError('--structured hidden: this cnn has no dense layer');
  const last = arch.channels.length - 1;
  const dense = arch.hidden > 0 ? 'fc.weight' : 'head.weight';
  const spatial = w(dense).dims[0]! / arch.channels[last]!;
  // What reads channel c of conv i: the next conv's input slice, or the dense rows of that channel.
  const readerNorm = (i: number): Float64Array => {
    if (i < last) return sqrt(axisNorms2(w(`conv${i + 1}.weight`), 1));
    const rows = axisNorms2(w(dense), 0);
    return sqrt(Float64Array.from(range(arch.channels[i]!), (c) => sum(rows.subarray(c * spatial, (c + 1) * spatial))));
  };
  const keptC = arch.channels.map((_, i) => topIndices(mul(sqrt(axisNorms2(w(`conv${i}.weight`), 0)), readerNorm(i)), channels[i]!));
  const keptH = arch.hidden > 0 ? topIndices(mul(sqrt(axisNorms2(w('fc.weight'), 1)), sqrt(axisNorms2(w('head.weight'), 0))), hidden) : [];
  const flatRows = keptC[last]!.flatMap((c) => range(spatial).map((p) => c * spatial + p));
  const source = (name: string): Tensor => {
    const m = /^conv(\d+)\.(weight|bias)$/.exec(name);
    if (m) {
      const i = Number(m[1]);
      if (m[2] === 'bias') return take(w(name), 0, keptC[i]!);
      const out = take(w(name), 0, keptC[i]!);
      return i === 0 ? out : take(out, 1, keptC[i - 1]!);
    }
    if (name === 'fc.weight') return take(take(w(name), 0, flatRows), 1, keptH);
    if (name === 'fc.bias') return take(w(name), 0, keptH);
    if (name === 'head.weight') return take(w(name), 0, arch.hidden > 0 ? keptH : flatRows);
    if (name === 'head.bias') return w(name);
    throw new Error(`structured pruning does not know the parameter '${name}'`);
  };
  return { arch: { ...arch, channels, hidden } as CnnConfig, source };
}

function planMlp(arch: MlpConfig, t: StructuredTargets, w: (n: string) => Tensor) {
  if (t.layers || t.dim || t.heads || t.ff || t.channels) throw new StructuredPruneError('an mlp takes --structured hidden=a-b (one width per hidden layer)');
  let hidden = t.hidden ?? arch.hidden;
  if (hidden.length === 1 && arch.hidden.length > 1) hidden = arch.hidden.map(() => hidden[0]!);
  if (hidden.length !== arch.hidden.length) throw new StructuredPruneError(`--structured hidden=${hidden.join('-')}: the model has ${arch.hidden.length} hidden layers`);
  hidden.forEach((h, i) => checkTarget(`hidden[${i}]`, h, arch.hidden[i]!));
  const n = arch.hidden.length;
  const reader = (i: number) => w(i + 1 < n ? `fc${i + 1}.weight` : 'head.weight');
  const kept = arch.hidden.map((_, i) => topIndices(mul(sqrt(axisNorms2(w(`fc${i}.weight`), 1)), sqrt(axisNorms2(reader(i), 0))), hidden[i]!));
  const source = (name: string): Tensor => {
    const m = /^fc(\d+)\.(weight|bias)$/.exec(name);
    if (m) {
      const i = Number(m[1]);
      if (m[2] === 'bias') return take(w(name), 0, kept[i]!);
      const cols = take(w(name), 1, kept[i]!);
      return i === 0 ? cols : take(cols, 0, kept[i - 1]!);
    }
    if (name === 'head.weight') return take(w(name), 0, kept[n - 1]!);
    if (name === 'head.bias') return w(name);
    throw new Error(`structured pruning does not know the parameter '${name}'`);
  };
  return { arch: { ...arch, hidden } as MlpConfig, source };
}
