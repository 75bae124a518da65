// A multilayer perceptron over flattened pixels. Structured pruning narrows each hidden layer; a
// unit j scores ||W_in[:, j]|| * ||W_out[j, :]|| (what it reads times what it writes).
import { INPUT } from '../../format/names.js';
import { activate, dropout, linear, type Activation } from '../layers.js';
import { classifierHead } from '../heads.js';
import { normal, type Scope } from '../scope.js';
import type { BuiltModel, ModelShape } from '../models.js';
import { need, type ModelKind } from './kind.js';
import { activation, fraction, specParts, widths, type SpecEntries } from './spec-values.js';
import { axisNorms2, checkTarget, mul, onlyTargets, sqrt, StructuredPruneError, take, topIndices, type PrunePlan, type StructuredTargets, type WeightReader } from './prune.js';

export interface MlpConfig {
  kind: 'mlp';
  hidden: number[];
  activation?: Activation;
  dropout?: number;
}

function parse(e: SpecEntries): MlpConfig {
  const cfg: MlpConfig = { kind: 'mlp', hidden: widths(e.get('hidden') ?? '256', 'hidden'), dropout: fraction(e.get('dropout') ?? '0', 'dropout') };
  const act = activation(e.get('activation'));
  if (act) cfg.activation = act;
  return cfg;
}

function build(s: Scope, arch: MlpConfig, shape: ModelShape): BuiltModel {
  const { g } = s;
  const [c, hgt, w] = need(shape.imageShape, 'an image shape');
  const classes = need(shape.numClasses, 'the number of classes');
  const pixels = g.input(INPUT.pixels, 'float32', ['batch', c, hgt, w]);
  let x = g.op1('Flatten', [pixels], { axis: 1 });
  arch.hidden.forEach((width, i) => {
    x = activate(s, linear(s.sub(`fc${i}`), x, width), arch.activation ?? 'relu');
    x = dropout(s, x, arch.dropout ?? 0, 100 + i);
  });
  const logits = classifierHead(s, x, classes, normal(1 / Math.sqrt(g.shape(x)[1] as number)));
  return { graph: g, logits, inputs: [{ name: pixels, dtype: 'float32', shape: g.shape(pixels) }] };
}

function planPruning(arch: MlpConfig, t: StructuredTargets, w: WeightReader): PrunePlan<MlpConfig> {
  onlyTargets(t, ['hidden'], 'an mlp takes --structured hidden=a-b (one width per hidden layer)');
  let hidden = t.hidden ?? arch.hidden;
  if (hidden.length === 1 && arch.hidden.length > 1) hidden = arch.hidden.map(() => hidden[0]!);
  if (hidden.length !== arch.hidden.length) throw new StructuredPruneError(`--structured hidden=${hidden.join('-')}: the model has ${arch.hidden.length} hidden layers`);
  hidden.forEach((h, i) => checkTarget(`hidden[${i}]`, h, arch.hidden[i]!));
  const n = arch.hidden.length;
  const reader = (i: number) => w(i + 1 < n ? `fc${i + 1}.weight` : 'head.weight');
  const kept = arch.hidden.map((_, i) => topIndices(mul(sqrt(axisNorms2(w(`fc${i}.weight`), 1)), sqrt(axisNorms2(reader(i), 0))), hidden[i]!));
  const source = (name: string) => {
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
  return { arch: { ...arch, hidden }, source };
}

export const mlp: ModelKind<MlpConfig> = {
  name: 'mlp',
  keys: ['hidden', 'activation', 'dropout'],
  tasks: ['image'],
  parse,
  format: (a) => specParts({ hidden: a.hidden.join('-'), activation: a.activation, dropout: a.dropout }),
  build,
  planPruning,
};
