// Softmax, LogSoftmax (opset 13: over one axis) and SoftmaxCrossEntropyLoss.
import type { Graph } from '../graph.js';
import { Tensor, ONNX_DATA_TYPE } from '../tensor.js';
import type { OpTable } from './op.js';
import { normAxis, same, type ShapeRule } from './shape-rule.js';
import { GradientError, cast, div, gy, mul, sub } from './vjp.js';

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
      const d = gy(c);
      const dtype = g.dtype(scores);
      const classes = g.shape(scores)[1]!;
      const depth = typeof classes === 'number' ? g.int64s([classes]) : g.op1('Shape', [scores], { start: 1, end: 2 });
      const ignore = node.attrs.ignore_index;
      let valid: string | undefined;
      let safeLabels = labels;
      if (typeof ignore === 'number') {
        valid = g.op1('Not', [g.op1('Equal', [labels, g.scalar(ignore, 'int64')])]);
        safeLabels = g.op1('Where', [valid, labels, g.scalar(0, 'int64')]);
      }
      // onnxruntime's OneHot has float32 values but no float64: build in float32, then cast.
      const oneHot = cast(g, g.op1('OneHot', [safeLabels, depth, g.constant(Tensor.fromNumbers('float32', [2], [0, 1]))], { axis: 1 }), dtype);
      let delta = sub(g, g.op1('Exp', [logProb]), oneHot);
      let validF: string | undefined;
      if (valid) {
        validF = cast(g, valid, dtype);
        delta = mul(g, delta, g.op1('Unsqueeze', [validF, g.int64s([1])]));
      }
      const reduction = node.attrs.reduction ?? 'mean';
      if (reduction === 'none') return [mul(g, delta, g.op1('Unsqueeze', [d, g.int64s([1])])), undefined];
      let scale = d;
      if (reduction === 'mean') {
        const count = validF
          ? g.op1('ReduceSum', [validF], { keepdims: 0 })
          : g.op1('Cast', [g.op1('Size', [labels])], { to: ONNX_DATA_TYPE[dtype] });
        scale = div(g, d, count);
      }
      return [mul(g, delta, scale), undefined];
    },
  },
};
