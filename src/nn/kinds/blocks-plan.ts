// Structured pruning of Transformer blocks (the text Transformer's and the ViT's). Scores, from the
// weights alone: a layer, the product of its input and output projection norms summed over attention
// and FFN; a head, ||Wq_h||·||Wk_h|| + ||Wv_h||·||Wo_h||; an FFN neuron j, ||W_in[:, j]|| * ||W_out[j, :]||;
// a residual channel, the share of every residual reader's and writer's squared norm that sits on it.
import type { Tensor } from '../../onnx/tensor.js';
import { axisNorms2, checkTarget, mul, range, sqrt, sum, take, topIndices, type PrunePlan, type StructuredTargets, type WeightReader } from './prune.js';

interface BlocksArch { layers: number; dim: number; heads: number; headDim?: number; ff: number }

/** What the kind's input embedding adds: its share of each residual channel, and its kept slices. */
export interface EmbeddingPlan {
  channelNorms: Float64Array;
  /** The embedding's own parameters cut to the kept residual channels D (undefined: not one of them). */
  take(name: string, D: number[]): Tensor | undefined;
}

export function planBlocks<C extends BlocksArch>(arch: C, t: StructuredTargets, w: WeightReader, embedding: EmbeddingPlan): PrunePlan<C> {
  const headDim = arch.headDim ?? arch.dim / arch.heads;
  const widths = { layers: checkTarget('layers', t.layers, arch.layers), dim: checkTarget('dim', t.dim, arch.dim), heads: checkTarget('heads', t.heads, arch.heads), ff: checkTarget('ff', t.ff, arch.ff) };
  const L = (i: number, name: string) => w(`layers.${i}.${name}`);
  const norm = (n: Tensor) => Math.sqrt(sum(axisNorms2(n, 0)));
  const layerScore = range(arch.layers).map((i) => norm(L(i, 'attn.qkv.weight')) * norm(L(i, 'attn.out.weight')) + norm(L(i, 'ffn.fc1.weight')) * norm(L(i, 'ffn.fc2.weight')));
  const keptLayers = topIndices(layerScore, widths.layers);
  const D = topIndices(residualChannelScores(arch.dim, keptLayers, L, w, embedding.channelNorms), widths.dim);
  const inner = arch.heads * headDim;
  const keptHeads = keptLayers.map((i) => {
    const qkv = axisNorms2(L(i, 'attn.qkv.weight'), 1);
    const out = axisNorms2(L(i, 'attn.out.weight'), 0);
    const slice = (a: Float64Array, from: number) => Math.sqrt(sum(a.subarray(from, from + headDim)));
    const score = range(arch.heads).map((h) => slice(qkv, h * headDim) * slice(qkv, inner + h * headDim) + slice(qkv, 2 * inner + h * headDim) * slice(out, h * headDim));
    return topIndices(score, widths.heads).flatMap((h) => range(headDim).map((j) => h * headDim + j));
  });
  const keptFf = keptLayers.map((i) => topIndices(mul(sqrt(axisNorms2(L(i, 'ffn.fc1.weight'), 1)), sqrt(axisNorms2(L(i, 'ffn.fc2.weight'), 0))), widths.ff));

  const next = { ...arch, ...widths };
  if (widths.dim % widths.heads !== 0 || widths.dim / widths.heads !== headDim) next.headDim = headDim;
  else delete next.headDim;
  const source = (name: string): Tensor => {
    const m = /^layers\.(\d+)\.(.+)$/.exec(name);
    if (!m) return outerSource(name, w, D, embedding);
    const j = Number(m[1]);
    return blockSource(m[2]!, L(keptLayers[j]!, m[2]!), D, keptHeads[j]!, keptFf[j]!, inner, name);
  };
  return { arch: next, source };
}

/** Each residual channel's share of the squared norms of everything that reads or writes the stream. */
function residualChannelScores(dim: number, keptLayers: number[], L: (i: number, name: string) => Tensor, w: WeightReader, embeddingNorms: Float64Array): Float64Array {
  const channel = new Float64Array(dim);
  const addShare = (norms: Float64Array) => { const total = sum(norms) || 1; norms.forEach((v, c) => { channel[c]! += v / total; }); };
  // Readers' rows are scaled by their LayerNorm gain; writers contribute their columns.
  const gained = (m: Tensor, gain: Tensor) => mul(axisNorms2(m, 0), (gain.data as Float32Array).reduce((a, g, i) => { a[i] = g * g; return a; }, new Float64Array(dim)));
  addShare(embeddingNorms);
  addShare(axisNorms2(w('pos_emb.weight'), 1));
  for (const i of keptLayers) {
    addShare(gained(L(i, 'attn.qkv.weight'), L(i, 'ln1.weight')));
    addShare(axisNorms2(L(i, 'attn.out.weight'), 1));
    addShare(gained(L(i, 'ffn.fc1.weight'), L(i, 'ln2.weight')));
    addShare(axisNorms2(L(i, 'ffn.fc2.weight'), 1));
  }
  addShare(gained(w('head.weight'), w('ln_f.weight')));
  return channel;
}

/** A parameter outside the blocks: the embeddings, the final LayerNorm, the head. */
function outerSource(name: string, w: WeightReader, D: number[], embedding: EmbeddingPlan): Tensor {
  const own = embedding.take(name, D);
  if (own) return own;
  if (name === 'pos_emb.weight') return take(w(name), 1, D);
  if (name.startsWith('ln_f.') || name === 'head.weight') return take(w(name), 0, D);
  if (name === 'head.bias') return w(name);
  throw new Error(`structured pruning does not know the parameter '${name}'`);
}

/** A block parameter (`rest` after layers.i.), cut to the kept channels D, head columns H and FFN neurons F. */
function blockSource(rest: string, src: Tensor, D: number[], H: number[], F: number[], inner: number, name: string): Tensor {
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
}
