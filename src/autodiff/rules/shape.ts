// Ops that move data without arithmetic: their VJPs route the gradient back to where each element
// came from.
import type { Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { normAxis } from '../../onnx/infer.js';
import { GradientError, dimOf, gy, shapedLike, unbroadcast, zerosLike, type VjpContext, type VjpTable } from '../vjp.js';

export const reshape = (g: Graph, x: string, shape: number[]) => g.op1('Reshape', [x, g.int64s(shape)]);
export const transpose = (g: Graph, x: string, perm: number[]) => g.op1('Transpose', [x], { perm });
export const unsqueeze = (g: Graph, x: string, axes: number[]) => g.op1('Unsqueeze', [x, g.int64s(axes)]);
export const squeeze = (g: Graph, x: string, axes: number[]) => g.op1('Squeeze', [x, g.int64s(axes)]);
export const flatten = (g: Graph, x: string, axis = 1) => g.op1('Flatten', [x], { axis });
export const concat = (g: Graph, xs: string[], axis: number) => g.op1('Concat', xs, { axis });
export const split = (g: Graph, x: string, sizes: number[], axis: number) =>
  g.op('Split', [x, g.int64s(sizes)], { axis }, { outputs: sizes.length });
export const slice = (g: Graph, x: string, starts: number[], ends: number[], axes: number[]) =>
  g.op1('Slice', [x, g.int64s(starts), g.int64s(ends), g.int64s(axes)]);
export const gather = (g: Graph, x: string, indices: string, axis = 0) => g.op1('Gather', [x, indices], { axis });
export const expand = (g: Graph, x: string, shape: string) => g.op1('Expand', [x, shape]);
export const gatherElements = (g: Graph, x: string, indices: string, axis: number) => g.op1('GatherElements', [x, indices], { axis });

/** Gradient of any op that only re-views its first input's elements in the same order. */
const reshapeBack = (c: VjpContext) => [shapedLike(c.g, c.g.op1('Reshape', [gy(c), c.g.op1('Shape', [c.node.inputs[0]!])]), c.node.inputs[0]!), undefined];

function constInts(c: VjpContext, i: number, what: string): number[] | undefined {
  const name = c.node.inputs[i];
  if (!name) return undefined;
  const t = c.g.constants.get(name);
  if (!t) throw new GradientError(`${c.node.opType} node '${c.node.name}': ${what} must be a constant to differentiate`);
  return t.toNumbers();
}

export const shapeVjps: VjpTable = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: (c) => {
    const rank = c.g.rank(c.node.inputs[0]!);
    const perm = (c.node.attrs.perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => { inverse[p] = i; });
    return [c.g.op1('Transpose', [gy(c)], { perm: inverse })];
  },
  Expand: (c) => [unbroadcast(c.g, gy(c), c.node.inputs[0]!), undefined],
  Concat: (c) => {
    const { g, node } = c;
    const axis = normAxis(node.attrs.axis as number, g.rank(node.inputs[0]!));
    const dims = node.inputs.map((x) => g.shape(x)[axis]!);
    const sizes = dims.every((d) => typeof d === 'number')
      ? g.int64s(dims as number[])
      : g.op1('Concat', node.inputs.map((x) => dimOf(g, x, axis)), { axis: 0 });
    return g.op('Split', [gy(c), sizes], { axis }, { outputs: node.inputs.length });
  },
  Split: (c) => {
    const { g, node } = c;
    const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, g.rank(node.inputs[0]!));
    const parts = node.outputs.map((out, i) => c.gradOutputs[i] ?? zerosLike(g, out));
    return [g.op1('Concat', parts, { axis }), undefined];
  },
  Slice: (c) => {
    const { g, node } = c;
    const x = node.inputs[0]!;
    const rank = g.rank(x);
    const starts = constInts(c, 1, 'starts')!, ends = constInts(c, 2, 'ends')!;
    const axes = (constInts(c, 3, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
    const steps = constInts(c, 4, 'steps');
    if (steps?.some((s) => s !== 1)) throw new GradientError(`Slice node '${node.name}': only step 1 is differentiable`);
    // Pad the gradient with zeros back to x's extent: before = start, after = dim - end (clamped).
    const before: (number | string)[] = [], after: (number | string)[] = [];
    axes.forEach((axis, j) => {
      const dim = g.shape(x)[axis]!;
      const s = starts[j]!, e = ends[j]!;
      if (typeof dim === 'number') {
        const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
        before.push(clamp(s));
        after.push(dim - Math.max(clamp(e), clamp(s)));
      } else {
        if (s < 0 || e < 0) throw new GradientError(`Slice node '${node.name}': negative bounds on the run-time dim of axis ${axis} are not differentiable`);
        const d = dimOf(g, x, axis);
        before.push(g.op1('Min', [g.int64s([s]), d]));
        after.push(g.op1('Sub', [d, g.op1('Min', [g.int64s([Math.min(e, 2 ** 62)]), d])]));
      }
    });
    const all = [...before, ...after];
    const pads = all.every((v) => typeof v === 'number')
      ? g.int64s(all as number[])
      : g.op1('Concat', all.map((v) => (typeof v === 'number' ? g.int64s([v]) : v)), { axis: 0 });
    return [shapedLike(g, g.op1('Pad', [gy(c), pads, '', g.int64s(axes)]), x), undefined, undefined, undefined, undefined];
  },
  GatherElements: (c) => {
    const { g, node } = c;
    const [x, indices] = node.inputs as [string, string];
    const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, g.rank(x));
    // Each output element came from one input element: scatter-add the gradient back there.
    return [g.op1('ScatterElements', [zerosLike(g, x), indices, gy(c)], { axis, reduction: 'add' }), undefined];
  },
  Gather: (c) => {
    const { g, node } = c;
    const [x, indices] = node.inputs as [string, string];
    const rank = g.rank(x);
    const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, rank);
    const idxRank = g.rank(indices);
    let d = gy(c);
    // Scatter-add into zeros shaped like x with `axis` moved to the front, then move it back.
    const toFront = [axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis)];
    if (axis !== 0) {
      const gradPerm = [
        ...Array.from({ length: idxRank }, (_, i) => axis + i),
        ...Array.from({ length: axis }, (_, i) => i),
        ...Array.from({ length: rank - axis - 1 }, (_, i) => axis + idxRank + i),
      ];
      d = g.op1('Transpose', [d], { perm: gradPerm });
    }
    const xFront = axis === 0 ? x : g.op1('Transpose', [x], { perm: toFront });
    const frontShape = g.op1('Shape', [xFront]);
    const dimSize = dimOf(g, xFront, 0);
    // Negative indices count from the end, as in Gather.
    const idx = g.op1('Where', [g.op1('Less', [indices, g.scalar(0, 'int64')]), g.op1('Add', [indices, g.op1('Squeeze', [dimSize, g.int64s([0])])]), indices]);
    // Scatter-add rows of width `row` into a [dimSize, row] table. Not ScatterND: onnxruntime's CPU
    // kernel splits its updates across threads with no guard, so rows that repeat (every frequent
    // token, every position) lose updates when intra-op threads > 1. ScatterElements along axis 0
    // runs each column serially, which is exact and deterministic.
    const row = rank === 1 ? g.int64s([1]) : g.op1('ReduceProd', [g.op1('Shape', [xFront], { start: 1 })], { keepdims: 1 });
    const updates = g.op1('Reshape', [d, g.op1('Concat', [g.int64s([-1]), row], { axis: 0 })]);
    const rowIdx = g.op1('Expand', [g.op1('Reshape', [idx, g.int64s([-1, 1])]), g.op1('Shape', [updates])]);
    const zeros = g.op1('ConstantOfShape', [g.op1('Concat', [dimSize, row], { axis: 0 })], { value: Tensor.fromNumbers(g.dtype(x), [1], [0]) });
    let gx = shapedLike(g, g.op1('Reshape', [g.op1('ScatterElements', [zeros, rowIdx, updates], { axis: 0, reduction: 'add' }), frontShape]), xFront);
    if (axis !== 0) {
      const back = new Array<number>(rank);
      toFront.forEach((p, i) => { back[p] = i; });
      gx = g.op1('Transpose', [gx], { perm: back });
    }
    return [gx, undefined];
  },
};
