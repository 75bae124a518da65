// ReduceSum and ReduceMean (opset 18: axes as an input). The gradient is the incoming gradient
// broadcast back over the reduced axes (divided by the count for the mean).
import type { Graph } from '../../onnx/graph.js';
import { normAxis } from '../../onnx/infer.js';
import { GradientError, cast, div, gy, scalarLike, shapedLike, type VjpContext, type VjpTable } from '../vjp.js';

export const reduceSum = (g: Graph, x: string, axes: number[], keepdims = true) =>
  g.op1('ReduceSum', [x, g.int64s(axes)], { keepdims: keepdims ? 1 : 0 });
export const reduceMean = (g: Graph, x: string, axes: number[], keepdims = true) =>
  g.op1('ReduceMean', [x, g.int64s(axes)], { keepdims: keepdims ? 1 : 0 });

function reducedAxes(c: VjpContext): number[] | 'none' {
  const { g, node } = c;
  const x = node.inputs[0]!;
  const axesName = node.inputs[1];
  if (!axesName) return node.attrs.noop_with_empty_axes === 1 ? 'none' : g.shape(x).map((_, i) => i);
  const axes = g.constants.get(axesName);
  if (!axes) throw new GradientError(`${node.opType} node '${node.name}': axes must be a constant to differentiate`);
  const list = axes.toNumbers();
  if (list.length === 0 && node.attrs.noop_with_empty_axes === 1) return 'none';
  return (list.length ? list : g.shape(x).map((_, i) => i)).map((a) => normAxis(a, g.rank(x)));
}

function spreadBack(c: VjpContext): string {
  const { g, node } = c;
  const x = node.inputs[0]!;
  const axes = reducedAxes(c);
  let d = gy(c);
  if (axes === 'none') return d;
  if (node.attrs.keepdims === 0) d = g.op1('Unsqueeze', [d, g.int64s(axes)]);
  return shapedLike(g, g.op1('Expand', [d, g.op1('Shape', [x])]), x);
}

export const reduceVjps: VjpTable = {
  ReduceSum: (c) => [spreadBack(c), undefined],
  ReduceMean: (c) => {
    const { g, node } = c;
    const x = node.inputs[0]!;
    const spread = spreadBack(c);
    const axes = reducedAxes(c);
    if (axes === 'none') return [spread, undefined];
    const dims = axes.map((a) => g.shape(x)[a]!);
    const count = dims.every((d) => typeof d === 'number')
      ? scalarLike(g, (dims as number[]).reduce((p, q) => p * q, 1), x)
      : div(g, cast(g, g.op1('Size', [x]), g.dtype(x)), cast(g, g.op1('Size', [node.outputs[0]!]), g.dtype(x)));
    return [div(g, spread, count), undefined];
  },
};
