// Softmax, LogSoftmax (opset 13: over one axis), SoftmaxCrossEntropyLoss and its second half,
// NegativeLogLikelihoodLoss.
import type { Graph } from '../graph.js';
import { Tensor, ONNX_DATA_TYPE } from '../tensor.js';
import type { OpTable } from './op.js';
import { normAxis, same, type ShapeRule } from './shape-rule.js';
import { GradientError, cast, div, gy, mul, sub } from './vjp.js';
import type { AttrValue } from '../attrs.js';

export const softmax = (g: Graph, x: string, axis = -1) => g.op1('Softmax', [x], { axis });
export const logSoftmax = (g: Graph, x: string, axis = -1) => g.op1('LogSoftmax', [x], { axis });

export interface CrossEntropyOptions {
  reduction?: 'mean' | 'sum' | 'none';
  ignoreIndex?: number;
}

/** Mean cross-entropy of scores [N, C, ...] against int64 labels [N, ...]. */
export function softmaxCrossEntropy(g: Graph, scores: string, labels: string, options: CrossEntropyOptions = {}): string {
  const attrs: Record<string, string | number> = { reduction: options.reduction ?? 'mean' };
  if (options.ignoreIndex !== undefined) attrs.ignore_index = options.ignoreIndex;
  // The log-probabilities output is requested so that the VJP reuses them.
  const [loss] = g.op('SoftmaxCrossEntropyLoss', [scores, labels], attrs, { outputs: 2, name: 'ce_loss' });
  return loss!;
}

const axisOf = (g: Graph, x: string, attr: unknown) => normAxis(typeof attr === 'number' ? attr : -1, g.rank(x));

/** The loss ([] reduced, or per label with reduction none) and the log-probabilities. */
const crossEntropyShape: ShapeRule = (c) => [
  { dtype: c.dtype(0), shape: c.attr('reduction', 'mean') === 'none' ? c.shape(1) : [] },
  c.type(0),
];

export const softmaxOps: OpTable = {
  // Written only by lowerForOnnxruntime (src/onnx/lower.ts), after the autodiff: no VJP.
  NegativeLogLikelihoodLoss: { shape: (c) => [crossEntropyShape(c)[0]!] },
  Softmax: {
    shape: same,
    vjp: (c) => {
      const { g } = c; const y = c.node.outputs[0]!; const d = gy(c);
      const axis = axisOf(g, y, c.node.attrs.axis);
      const dot = g.op1('ReduceSum', [mul(g, d, y), g.int64s([axis])], { keepdims: 1 });
      return [mul(g, y, sub(g, d, dot))];
    },
  },
  LogSoftmax: {
    shape: same,
    vjp: (c) => {
      const { g } = c; const y = c.node.outputs[0]!; const d = gy(c);
      const axis = axisOf(g, y, c.node.attrs.axis);
      const total = g.op1('ReduceSum', [d, g.int64s([axis])], { keepdims: 1 });
      return [sub(g, d, mul(g, g.op1('Exp', [y]), total))];
    },
  },
  SoftmaxCrossEntropyLoss: {
    shape: crossEntropyShape,
    vjp: (c) => {
      const { g, node } = c;
      const [scores, labels, weights] = node.inputs as [string, string, string | undefined];
      if (weights) throw new GradientError(`SoftmaxCrossEntropyLoss node '${node.name}': class weights are not differentiable here`);
      const logProb = node.outputs[1];
      if (!logProb) throw new GradientError(`SoftmaxCrossEntropyLoss node '${node.name}': build it with its log_prob output to differentiate it`);
      if (c.gradOutputs[1]) throw new GradientError(`SoftmaxCrossEntropyLoss node '${node.name}': gradients through log_prob are not supported`);
      return [crossEntropyGrad(g, labels, logProb, gy(c), node.attrs.ignore_index, node.attrs.reduction ?? 'mean'), undefined];
    },
  },
};

/**
 * d(scores) = (softmax - onehot(labels)) * per-row scale. The softmax is scaled first and the
 * label's -scale is scattered into it, so no one-hot [N, C] tensor and no difference of two are
 * made: at a language model's vocabulary those are the largest tensors of the backward pass.
 */
function crossEntropyGrad(g: Graph, labels: string, logProb: string, d: string, ignore: AttrValue | undefined, reduction: AttrValue): string {
  const dtype = g.dtype(logProb);
  const axis1 = g.int64s([1]);
  let safeLabels = labels;
  let validF: string | undefined;
  if (typeof ignore === 'number') {
    const valid = g.op1('Not', [g.op1('Equal', [labels, g.scalar(ignore, 'int64')])]);
    safeLabels = g.op1('Where', [valid, labels, g.scalar(0, 'int64')]);
    validF = cast(g, valid, dtype);
  }
  const index = g.op1('Unsqueeze', [safeLabels, axis1]);
  let perRow = d;
  if (reduction === 'mean') {
    const count = validF
      ? g.op1('ReduceSum', [validF], { keepdims: 0 })
      : g.op1('Cast', [g.op1('Size', [labels])], { to: ONNX_DATA_TYPE[dtype] });
    perRow = div(g, d, count);
  }
  if (reduction === 'none') perRow = g.op1('Unsqueeze', [perRow, axis1]);
  if (validF) perRow = mul(g, perRow, g.op1('Unsqueeze', [validF, axis1]));
  // ScatterElements takes updates of exactly the index's shape.
  if (reduction !== 'none' && !validF) perRow = g.op1('Expand', [perRow, g.op1('Shape', [index])]);
  const scaled = mul(g, g.op1('Exp', [logProb]), perRow);
  return g.op1('ScatterElements', [scaled, index, g.op1('Neg', [perRow])], { axis: 1, reduction: 'add' });
}
