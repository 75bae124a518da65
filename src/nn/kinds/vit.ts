// A Vision Transformer: non-overlapping patches, the pre-LN blocks of the text Transformer, mean
// pooling. Structured pruning is the Transformer's, with the patch embedding in place of the tokens'.
import { INPUT } from '../../format/names.js';
import { positionalEmbedding, type Activation } from '../layers.js';
import { classifierHead } from '../heads.js';
import { transformerBlocks } from '../transformer-block.js';
import { normal, type Scope } from '../scope.js';
import type { BuiltModel, ModelShape } from '../models.js';
import { need, type ModelKind } from './kind.js';
import { positiveInt, specParts, type SpecEntries } from './spec-values.js';
import { parseBlockKeys } from './transformer.js';
import { planBlocks } from './blocks-plan.js';
import { axisNorms2, onlyTargets, take } from './prune.js';

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

function parse(e: SpecEntries, spec: string): VitConfig {
  return { kind: 'vit', ...parseBlockKeys(e, spec, { layers: 6, dim: 192, heads: 6 }), patch: positiveInt(e.get('patch') ?? '4', 'patch') };
}

function build(s: Scope, arch: VitConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  if (hgt % arch.patch !== 0 || w % arch.patch !== 0) throw new Error(`vit: image ${hgt}x${w} is not divisible into ${arch.patch}x${arch.patch} patches`);
  const pixels = g.input(INPUT.pixels, 'float32', ['batch', c, hgt, w]);
  const p = s.sub('patch_emb');
  const weight = p.param('weight', [arch.dim, c, arch.patch, arch.patch], normal(Math.sqrt(1 / (c * arch.patch * arch.patch))));
  const bias = p.param('bias', [arch.dim], { kind: 'zeros' });
  const patches = g.op1('Conv', [pixels, weight, bias], { strides: [arch.patch, arch.patch], pads: [0, 0, 0, 0] }, { name: 'patchify' });
  const tokens = (hgt / arch.patch) * (w / arch.patch);
  let x = g.op1('Transpose', [g.op1('Reshape', [patches, g.int64s([0, arch.dim, tokens])])], { perm: [0, 2, 1] });
  x = positionalEmbedding(s.sub('pos_emb'), x, tokens);
  const { hidden } = transformerBlocks(s, x, arch, {});
  const pooled = g.op1('ReduceMean', [hidden, g.int64s([1])], { keepdims: 0 }, { name: 'pooled' });
  const logits = classifierHead(s, pooled, classes, normal(0.02));
  return { graph: g, logits, inputs: [{ name: pixels, dtype: 'float32', shape: ['batch', c, hgt, w] }] };
}

export const vit: ModelKind<VitConfig> = {
  name: 'vit',
  keys: ['layers', 'dim', 'heads', 'head_dim', 'ff', 'patch', 'activation', 'dropout'],
  tasks: ['image'],
  parse,
  format: (a) => specParts({ layers: a.layers, dim: a.dim, heads: a.heads, head_dim: a.headDim, ff: a.ff, patch: a.patch, activation: a.activation, dropout: a.dropout }),
  build,
  planPruning(arch, targets, w) {
    onlyTargets(targets, ['layers', 'dim', 'heads', 'ff'], `--structured channels/hidden are for CNN and MLP models; a vit takes layers, dim, heads, ffn`);
    return planBlocks(arch, targets, w, {
      channelNorms: axisNorms2(w('patch_emb.weight'), 0),
      take: (name, D) => (name.startsWith('patch_emb.') ? take(w(name), 0, D) : undefined),
    });
  },
};
