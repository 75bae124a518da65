// Ops that move data without arithmetic: their shape rules, and VJPs that route the gradient back to
// where each element came from.
import type { Dim, Graph } from '../graph.js';
import { Tensor } from '../tensor.js';
import type { OpTable } from './op.js';
import { broadcastShapes, dimProduct, normAxis, same, unknownDim, type InferContext, type ShapeRule } from './shape-rule.js';
import { GradientError, dimOf, gy, shapedLike, unbroadcast, zerosLike, type VjpContext } from './vjp.js';

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

function sliceShape(c: InferContext): Dim[] {
  const shape = [...c.shape(0)];
  const starts = c.ints(1), ends = c.ints(2);
  const axes = c.has(3) ? c.ints(3) : shape.map((_, i) => i).slice(0, starts?.length ?? 0);
  const steps = c.has(4) ? c.ints(4) : undefined;
  if (!starts || !ends || !axes) {
    // Data-dependent bounds: the rank is known, the sliced sizes are not.
    const known = c.ints(3);
    return shape.map((d, i) => (known && !known.map((a) => normAxis(a, shape.length)).includes(i) ? d : unknownDim()));
  }
  axes.forEach((a, j) => {
    const axis = normAxis(a, shape.length);
    const dim = shape[axis]!;
    const step = steps?.[j] ?? 1;
    if (typeof dim !== 'number') {
      const s = starts[j]!, e = ends[j]!;
      // A prefix/suffix of known length keeps a static size whatever the run-time dim.
      if (step === 1 && s >= 0 && e >= 0 && e < 2 ** 31) shape[axis] = Math.max(0, e - s);
      else shape[axis] = unknownDim();
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[j]!, e = ends[j]!;
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (step > 0) { s = clamp(s, 0, dim); e = clamp(e, 0, dim); shape[axis] = Math.max(0, Math.ceil((e - s) / step)); }
    else { s = clamp(s, 0, dim - 1); e = clamp(e, -1, dim - 1); shape[axis] = Math.max(0, Math.ceil((s - e) / -step)); }
  });
  return shape;
}

function reshapeShape(c: InferContext): Dim[] {
  const target = c.ints(1);
  const input = c.shape(0);
  if (!target) {
    const len = c.shape(1)[0];
    if (typeof len !== 'number') c.fail('the target shape has an unknown length');
    return Array.from({ length: len as number }, () => unknownDim());
  }
  const out: Dim[] = target.map((d, i) => (d === 0 ? input[i]! : d));
  const minus = out.indexOf(-1);
  if (minus >= 0) {
    const known = out.filter((_, i) => i !== minus);
    const total = input.every((d) => typeof d === 'number') ? (input as number[]).reduce((a, b) => a * b, 1) : undefined;
    const rest = known.every((d) => typeof d === 'number') ? (known as number[]).reduce((a, b) => a * b, 1) : undefined;
    if (total !== undefined && rest !== undefined) {
      if (total % rest !== 0) c.fail(`cannot reshape [${input}] to [${target}]`);
      out[minus] = total / rest;
    } else {
      // Common case: leading symbolic dims copied through (e.g. [batch, seq, h, d] -> [batch, seq, -1]).
      const inStatic = input.filter((d) => !known.includes(d));
      out[minus] = inStatic.every((d) => typeof d === 'number')
        ? (inStatic as number[]).reduce((a, b) => a * b, 1)
        : unknownDim();
    }
  }
  return out;
}

const typedAs0 = (shape: (c: InferContext) => Dim[]): ShapeRule => (c) => [{ dtype: c.dtype(0), shape: shape(c) }];

const transposeShape = typedAs0((c) => {
  const x = c.shape(0);
  return c.attr<number[]>('perm', x.map((_, i) => x.length - 1 - i)).map((p) => x[p]!);
});

const unsqueezeShape = typedAs0((c) => {
  const axes = c.ints(1) ?? c.fail('axes must be a constant');
  const rank = c.shape(0).length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const src = [...c.shape(0)];
  return Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : src.shift()!));
});

const squeezeShape = typedAs0((c) => {
  const x = c.shape(0);
  const axes = c.has(1) ? (c.ints(1) ?? c.fail('axes must be a constant')) : x.flatMap((d, i) => (d === 1 ? [i] : []));
  const set = new Set(axes.map((a) => normAxis(a, x.length)));
  return x.filter((_, i) => !set.has(i));
});

const flattenShape = typedAs0((c) => {
  const x = c.shape(0);
  const axis = normAxis(c.attr('axis', 1), x.length);
  return [dimProduct(x.slice(0, axis)), dimProduct(x.slice(axis))];
});

const concatShape = typedAs0((c) => {
  const shapes = c.node.inputs.map((_, i) => c.shape(i));
  const axis = normAxis(c.attr('axis', 0), shapes[0]!.length);
  const out = [...shapes[0]!];
  const sizes = shapes.map((s) => s[axis]!);
  out[axis] = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : unknownDim();
  return out;
});

const splitShape: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.attr('axis', 0), x.length);
  const n = c.node.outputs.length;
  const dim = x[axis]!;
  let sizes: Dim[];
  if (c.has(1)) sizes = c.ints(1) ?? Array.from({ length: n }, () => unknownDim());
  else if (typeof dim !== 'number') sizes = Array.from({ length: n }, () => unknownDim());
  else sizes = Array.from({ length: n }, (_, i) => Math.min(Math.ceil(dim / n), dim - Math.ceil(dim / n) * i));
  return sizes.map((s) => { const shape = [...x]; shape[axis] = s; return { dtype: c.dtype(0), shape }; });
};

const gatherShape = typedAs0((c) => {
  const x = c.shape(0);
  const axis = normAxis(c.attr('axis', 0), x.length);
  return [...x.slice(0, axis), ...c.shape(1), ...x.slice(axis + 1)];
});

const expandShape = typedAs0((c) => {
  const target = c.ints(1);
  if (target) return broadcastShapes([c.shape(0), target], 'Expand');
  const len = c.shape(1)[0];
  if (typeof len !== 'number') c.fail('the target shape has an unknown length');
  return Array.from({ length: Math.max(len as number, c.shape(0).length) }, () => unknownDim());
});

const tileShape = typedAs0((c) => {
  const reps = c.ints(1);
  return c.shape(0).map((d, i) => (reps && typeof d === 'number' ? d * reps[i]! : unknownDim()));
});

const padShape = typedAs0((c) => {
  const x = c.shape(0);
  const pads = c.ints(1);
  const axes = c.has(3) ? c.ints(3) : x.map((_, i) => i);
  if (!pads || !axes) return x.map(() => unknownDim());
  const out = [...x];
  axes.forEach((a, j) => {
    const axis = normAxis(a, x.length);
    const d = out[axis]!, before = pads[j]!, after = pads[j + axes.length]!;
    out[axis] = typeof d === 'number' ? d + before + after : (before === 0 && after === 0 ? d : unknownDim());
  });
  return out;
});

export const shapeOps: OpTable = {
  Reshape: { shape: typedAs0(reshapeShape), vjp: reshapeBack },
  Flatten: { shape: flattenShape, vjp: reshapeBack },
  Squeeze: { shape: squeezeShape, vjp: reshapeBack },
  Unsqueeze: { shape: unsqueezeShape, vjp: reshapeBack },
  Transpose: {
    shape: transposeShape,
    vjp: (c) => {
      const rank = c.g.rank(c.node.inputs[0]!);
      const perm = (c.node.attrs.perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
      const inverse = new Array<number>(rank);
      perm.forEach((p, i) => { inverse[p] = i; });
      return [c.g.op1('Transpose', [gy(c)], { perm: inverse })];
    },
  },
  Expand: { shape: expandShape, vjp: (c) => [unbroadcast(c.g, gy(c), c.node.inputs[0]!), undefined] },
  Concat: {
    shape: concatShape,
    vjp: (c) => {
      const { g, node } = c;
      const axis = normAxis(node.attrs.axis as number, g.rank(node.inputs[0]!));
      const dims = node.inputs.map((x) => g.shape(x)[axis]!);
      const sizes = dims.every((d) => typeof d === 'number')
        ? g.int64s(dims as number[])
        : g.op1('Concat', node.inputs.map((x) => dimOf(g, x, axis)), { axis: 0 });
      return g.op('Split', [gy(c), sizes], { axis }, { outputs: node.inputs.length });
    },
  },
  Split: {
    shape: splitShape,
    vjp: (c) => {
      const { g, node } = c;
      const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, g.rank(node.inputs[0]!));
      const parts = node.outputs.map((out, i) => c.gradOutputs[i] ?? zerosLike(g, out));
      return [g.op1('Concat', parts, { axis }), undefined];
    },
  },
  Slice: {
    shape: typedAs0(sliceShape),
    vjp: (c) => {
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
  },
  GatherElements: {
    shape: (c) => [{ dtype: c.dtype(0), shape: c.shape(1) }],
    vjp: (c) => {
      const { g, node } = c;
      const [x, indices] = node.inputs as [string, string];
      const axis = normAxis((node.attrs.axis as number | undefined) ?? 0, g.rank(x));
      // Each output element came from one input element: scatter-add the gradient back there.
      return [g.op1('ScatterElements', [zerosLike(g, x), indices, gy(c)], { axis, reduction: 'add' }), undefined];
    },
  },
  Gather: {
    shape: gatherShape,
    vjp: (c) => {
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
  },
  Tile: { shape: tileShape }, Pad: { shape: padShape }, Trilu: { shape: same },
  ScatterND: { shape: same }, ScatterElements: { shape: same },
};
