// Reductions (opset 18: axes as an input), ArgMax and TopK. The gradient of ReduceSum and ReduceMean
// is the incoming gradient broadcast back over the reduced axes (divided by the count for the mean).
import type { Dim, Graph, ValueType } from '../graph.js';
import type { OpTable } from './op.js';
import { normAxis, unknownDim, type InferContext, type ShapeRule } from './shape-rule.js';
import { GradientError, cast, div, gy, scalarLike, shapedLike, type VjpContext } from './vjp.js';

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

function reducedShape(c: InferContext): ValueType[] {
  const shape = c.shape(0);
  const keep = c.attr('keepdims', 1) === 1;
  let axes = c.has(1) ? c.ints(1) : undefined;
  if (axes === undefined) {
    if (c.has(1)) c.fail('reduction axes must be a constant');
    if (c.attr('noop_with_empty_axes', 0) === 1) return [c.type(0)];
    axes = shape.map((_, i) => i);
  }
  const set = new Set(axes.map((a) => normAxis(a, shape.length)));
  const out: Dim[] = [];
  shape.forEach((d, i) => { if (!set.has(i)) out.push(d); else if (keep) out.push(1); });
  return [{ dtype: c.dtype(0), shape: out }];
}

const argMaxShape: ShapeRule = (c) => {
  const shape = [...c.shape(0)];
  const axis = normAxis(c.attr('axis', 0), shape.length);
  if (c.attr('keepdims', 1) === 1) shape[axis] = 1; else shape.splice(axis, 1);
  return [{ dtype: 'int64', shape }];
};

const topKShape: ShapeRule = (c) => {
  const x = [...c.shape(0)];
  const axis = normAxis(c.attr('axis', -1), x.length);
  x[axis] = c.ints(1)?.[0] ?? unknownDim();
  return [{ dtype: c.dtype(0), shape: x }, { dtype: 'int64', shape: x }];
};

export const reduceOps: OpTable = {
  ReduceSum: { shape: reducedShape, vjp: (c) => [spreadBack(c), undefined] },
  ReduceMean: {
    shape: reducedShape,
    vjp: (c) => {
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
  },
  ReduceMax: { shape: reducedShape }, ReduceProd: { shape: reducedShape }, ReduceL2: { shape: reducedShape },
  ReduceSumSquare: { shape: reducedShape },
  ArgMax: { shape: argMaxShape, vjp: 'none' },
  TopK: { shape: topKShape },
};
