// A small CNN: 3x3 conv + ReLU + 2x2 max-pool blocks, an optional dense layer, the classifier.
// Structured pruning drops conv filters and dense units; a filter scores its own norm times the norm
// of the next layer's weights that read its channel.
import { INPUT } from '../../format/names.js';
import { dropout, linear } from '../layers.js';
import { classifierHead } from '../heads.js';
import { kaiming, normal, type Scope } from '../scope.js';
import type { BuiltModel, ModelShape } from '../models.js';
import { need, type ModelKind } from './kind.js';
import { fraction, positiveInt, specParts, widths, type SpecEntries } from './spec-values.js';
import { axisNorms2, checkTarget, mul, onlyTargets, range, sqrt, StructuredPruneError, sum, take, topIndices, type PrunePlan, type StructuredTargets, type WeightReader } from './prune.js';

export interface CnnConfig {
  kind: 'cnn';
  /** Output channels of each 3x3 conv block (each followed by ReLU and 2x2 max-pool). */
  channels: number[];
  /** Width of the dense layer before the classifier (0 for none). */
  hidden: number;
  dropout?: number;
}

function parse(e: SpecEntries): CnnConfig {
  return {
    kind: 'cnn',
    channels: widths(e.get('channels') ?? '32-64', 'channels'),
    hidden: e.get('hidden') === '0' ? 0 : positiveInt(e.get('hidden') ?? '128', 'hidden'),
    dropout: fraction(e.get('dropout') ?? '0', 'dropout'),
  };
}

function build(s: Scope, arch: CnnConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  const pixels = g.input(INPUT.pixels, 'float32', ['batch', c, hgt, w]);
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
  const logits = classifierHead(s, x, classes, normal(1 / Math.sqrt(g.shape(x)[1] as number)));
  return { graph: g, logits, inputs: [{ name: pixels, dtype: 'float32', shape: g.shape(pixels) }] };
}

function planPruning(arch: CnnConfig, t: StructuredTargets, w: WeightReader): PrunePlan<CnnConfig> {
  onlyTargets(t, ['channels', 'hidden'], '--structured layers/dim/heads/ffn are for Transformers; a cnn takes channels=a-b and hidden=n');
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
  const source = (name: string) => {
    const m = /^conv(\d+)\.(weight|bias)$/.exec(name);
    if (m) {
      const i = Number(m[1]);
      const out = take(w(name), 0, keptC[i]!);
      return m[2] === 'bias' || i === 0 ? out : take(out, 1, keptC[i - 1]!);
    }
    if (name === 'fc.weight') return take(take(w(name), 0, flatRows), 1, keptH);
    if (name === 'fc.bias') return take(w(name), 0, keptH);
    if (name === 'head.weight') return take(w(name), 0, arch.hidden > 0 ? keptH : flatRows);
    if (name === 'head.bias') return w(name);
    throw new Error(`structured pruning does not know the parameter '${name}'`);
  };
  return { arch: { ...arch, channels, hidden }, source };
}

export const cnn: ModelKind<CnnConfig> = {
  name: 'cnn',
  keys: ['channels', 'hidden', 'dropout'],
  tasks: ['image'],
  parse,
  format: (a) => specParts({ channels: a.channels.join('-'), hidden: a.hidden, dropout: a.dropout }),
  build,
  planPruning,
};
