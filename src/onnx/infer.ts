// Dtype and shape inference for every op minnow emits. Static dims are numbers; dims only known at
// run time are names. Broadcasting treats a dim as broadcast only where it is statically 1, which is
// also the rule the VJPs use to decide which axes to sum a gradient over.
import type { Dim, Graph, Node, ValueType } from './graph.js';
import { Tensor, type DType, dtypeFromOnnx } from './tensor.js';

type Rule = (ctx: InferContext) => ValueType[];
type Widen<T> = T extends number ? number : T extends string ? string : T;

let unknownCounter = 0;
/** A fresh name for a dim that inference cannot pin down. */
export function unknownDim(): string { return `unk_${++unknownCounter}`; }

export class InferContext {
  constructor(readonly graph: Graph, readonly node: Node) {}
  has(i: number): boolean { return (this.node.inputs[i] ?? '') !== ''; }
  type(i: number): ValueType {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') throw new Error(`${this.node.opType}: input ${i} is missing`);
    return this.graph.type(name);
  }
  shape(i: number): Dim[] { return this.type(i).shape; }
  dtype(i: number): DType { return this.type(i).dtype; }
  constant(i: number): Tensor | undefined {
    const name = this.node.inputs[i];
    return name ? this.graph.constants.get(name) : undefined;
  }
  ints(i: number): number[] | undefined { return this.constant(i)?.toNumbers(); }
  attr<T>(name: string, fallback: T): Widen<T> {
    const v = this.node.attrs[name];
    if (v === undefined) return fallback as Widen<T>;
    return ((v as { value?: unknown }).value !== undefined && !(v instanceof Tensor) ? (v as { value: T }).value : v) as Widen<T>;
  }
  fail(message: string): never {
    throw new Error(`${this.node.opType} node '${this.node.name}': ${message}`);
  }
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function broadcastShapes(shapes: Dim[][], where = 'broadcast'): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (typeof dim === 'number' && typeof d === 'number' && dim !== d) {
        throw new Error(`${where}: shapes ${shapes.map((x) => `[${x}]`).join(' and ')} do not broadcast`);
      } else if (typeof dim === 'string' && typeof d === 'number') dim = d;
    }
    out.push(dim);
  }
  return out;
}

const same: Rule = (c) => [c.type(0)];
const broadcast: Rule = (c) => [{
  dtype: c.dtype(0),
  shape: broadcastShapes(c.node.inputs.filter((x) => x !== '').map((_, i) => c.shape(i)), c.node.opType),
}];
const compare: Rule = (c) => [{ dtype: 'bool', shape: broadcast(c)[0]!.shape }];

function reduce(c: InferContext, axes: number[] | undefined): ValueType[] {
  const shape = c.shape(0);
  const keep = c.attr('keepdims', 1) === 1;
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

function matmulShape(a: Dim[], b: Dim[], c: InferContext): Dim[] {
  if (a.length < 1 || b.length < 1) c.fail('MatMul needs inputs of rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const k1 = a2[a2.length - 1]!, k2 = b2[b2.length - 2]!;
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    c.fail(`inner dims differ: [${a}] x [${b}]`);
  }
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)], 'MatMul batch dims');
  const out = [...batch, a2[a2.length - 2]!, b2[b2.length - 1]!];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

function convOutDim(size: Dim, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): Dim {
  if (typeof size !== 'number') return unknownDim();
  return Math.floor((size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

function poolLike(c: InferContext, kernel: number[]): Dim[] {
  const x = c.shape(0);
  const spatial = kernel.length;
  const strides = c.attr<number[]>('strides', Array(spatial).fill(1));
  const pads = c.attr<number[]>('pads', Array(2 * spatial).fill(0));
  const dilations = c.attr<number[]>('dilations', Array(spatial).fill(1));
  if (c.attr('auto_pad', 'NOTSET') !== 'NOTSET') c.fail('auto_pad is not supported; give explicit pads');
  const out: Dim[] = [];
  for (let i = 0; i < spatial; i++) {
    out.push(convOutDim(x[2 + i]!, kernel[i]!, strides[i]!, pads[i]!, pads[i + spatial]!, dilations[i]!));
  }
  return out;
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

const RULES: Record<string, Rule> = {
  Identity: same, Neg: same, Sqrt: same, Exp: same, Log: same, Tanh: same, Sigmoid: same,
  Relu: same, Gelu: same, Erf: same, Abs: same, Reciprocal: same, Softmax: same, LogSoftmax: same,
  Floor: same, Ceil: same, Round: same, Sign: same, Clip: same,
  Add: broadcast, Sub: broadcast, Mul: broadcast, Div: broadcast, Pow: broadcast, Max: broadcast,
  Min: broadcast, Sum: broadcast, Mod: broadcast,
  Equal: compare, Greater: compare, Less: compare, GreaterOrEqual: compare, LessOrEqual: compare,
  And: compare, Or: compare, Not: same, IsNaN: (c) => [{ dtype: 'bool', shape: c.shape(0) }],
  Where: (c) => [{ dtype: c.dtype(1), shape: broadcastShapes([c.shape(0), c.shape(1), c.shape(2)], 'Where') }],
  MatMul: (c) => [{ dtype: c.dtype(0), shape: matmulShape(c.shape(0), c.shape(1), c) }],
  Gemm: (c) => {
    const a = c.shape(0), b = c.shape(1);
    const m = c.attr('transA', 0) ? a[1]! : a[0]!;
    const n = c.attr('transB', 0) ? b[0]! : b[1]!;
    return [{ dtype: c.dtype(0), shape: [m, n] }];
  },
  ReduceSum: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ReduceMean: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ReduceMax: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ReduceProd: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ReduceL2: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ReduceSumSquare: (c) => reduce(c, c.has(1) ? c.ints(1) : undefined),
  ArgMax: (c) => {
    const shape = [...c.shape(0)];
    const axis = normAxis(c.attr('axis', 0), shape.length);
    if (c.attr('keepdims', 1) === 1) shape[axis] = 1; else shape.splice(axis, 1);
    return [{ dtype: 'int64', shape }];
  },
  LayerNormalization: (c) => {
    const x = c.shape(0);
    const axis = normAxis(c.attr('axis', -1), x.length);
    const stats = x.map((d, i) => (i < axis ? d : 1));
    const stash: DType = c.attr('stash_type', 1) === 11 ? 'float64' : 'float32';
    return [c.type(0), { dtype: stash, shape: stats }, { dtype: stash, shape: stats }];
  },
  Reshape: (c) => [{ dtype: c.dtype(0), shape: reshapeShape(c) }],
  Transpose: (c) => {
    const x = c.shape(0);
    const perm = c.attr<number[]>('perm', x.map((_, i) => x.length - 1 - i));
    return [{ dtype: c.dtype(0), shape: perm.map((p) => x[p]!) }];
  },
  Unsqueeze: (c) => {
    const axes = c.ints(1) ?? c.fail('axes must be a constant');
    const rank = c.shape(0).length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const src = [...c.shape(0)];
    return [{ dtype: c.dtype(0), shape: Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : src.shift()!)) }];
  },
  Squeeze: (c) => {
    const x = c.shape(0);
    const axes = c.has(1) ? (c.ints(1) ?? c.fail('axes must be a constant')) : x.flatMap((d, i) => (d === 1 ? [i] : []));
    const set = new Set(axes.map((a) => normAxis(a, x.length)));
    return [{ dtype: c.dtype(0), shape: x.filter((_, i) => !set.has(i)) }];
  },
  Flatten: (c) => {
    const x = c.shape(0);
    const axis = normAxis(c.attr('axis', 1), x.length);
    const prod = (ds: Dim[]) => (ds.every((d) => typeof d === 'number') ? (ds as number[]).reduce((a, b) => a * b, 1) : ds.length === 1 ? ds[0]! : unknownDim());
    return [{ dtype: c.dtype(0), shape: [prod(x.slice(0, axis)), prod(x.slice(axis))] }];
  },
  Concat: (c) => {
    const shapes = c.node.inputs.map((_, i) => c.shape(i));
    const axis = normAxis(c.attr('axis', 0), shapes[0]!.length);
    const out = [...shapes[0]!];
    const sizes = shapes.map((s) => s[axis]!);
    out[axis] = sizes.every((d) => typeof d === 'number') ? (sizes as number[]).reduce((a, b) => a + b, 0) : unknownDim();
    return [{ dtype: c.dtype(0), shape: out }];
  },
  Split: (c) => {
    const x = c.shape(0);
    const axis = normAxis(c.attr('axis', 0), x.length);
    const n = c.node.outputs.length;
    let sizes: Dim[];
    if (c.has(1)) sizes = c.ints(1) ?? Array.from({ length: n }, () => unknownDim());
    else {
      const dim = x[axis]!;
      if (typeof dim !== 'number') sizes = Array.from({ length: n }, () => unknownDim());
      else {
        const chunk = Math.ceil(dim / n);
        sizes = Array.from({ length: n }, (_, i) => Math.min(chunk, dim - chunk * i));
      }
    }
    return sizes.map((s) => { const shape = [...x]; shape[axis] = s; return { dtype: c.dtype(0), shape }; });
  },
  Slice: (c) => [{ dtype: c.dtype(0), shape: sliceShape(c) }],
  Gather: (c) => {
    const x = c.shape(0);
    const axis = normAxis(c.attr('axis', 0), x.length);
    return [{ dtype: c.dtype(0), shape: [...x.slice(0, axis), ...c.shape(1), ...x.slice(axis + 1)] }];
  },
  GatherElements: (c) => [{ dtype: c.dtype(0), shape: c.shape(1) }],
  Expand: (c) => {
    const target = c.ints(1);
    if (!target) {
      const len = c.shape(1)[0];
      if (typeof len !== 'number') c.fail('the target shape has an unknown length');
      const x = c.shape(0);
      return [{ dtype: c.dtype(0), shape: Array.from({ length: Math.max(len as number, x.length) }, () => unknownDim()) }];
    }
    return [{ dtype: c.dtype(0), shape: broadcastShapes([c.shape(0), target], 'Expand') }];
  },
  Tile: (c) => {
    const reps = c.ints(1);
    return [{ dtype: c.dtype(0), shape: c.shape(0).map((d, i) => (reps && typeof d === 'number' ? d * reps[i]! : unknownDim())) }];
  },
  Cast: (c) => [{ dtype: dtypeFromOnnx(c.attr('to', 1)), shape: c.shape(0) }],
  CastLike: (c) => [{ dtype: c.dtype(1), shape: c.shape(0) }],
  Dropout: (c) => [c.type(0), { dtype: 'bool', shape: c.shape(0) }],
  Conv: (c) => {
    const w = c.shape(1);
    const kernel = c.attr<number[]>('kernel_shape', w.slice(2) as number[]);
    return [{ dtype: c.dtype(0), shape: [c.shape(0)[0]!, w[0]!, ...poolLike(c, kernel)] }];
  },
  ConvTranspose: (c) => {
    const x = c.shape(0), w = c.shape(1);
    const kernel = c.attr<number[]>('kernel_shape', w.slice(2) as number[]);
    const group = c.attr('group', 1);
    const explicit = c.attr<number[] | undefined>('output_shape', undefined);
    const spatial = kernel.length;
    const strides = c.attr<number[]>('strides', Array(spatial).fill(1));
    const pads = c.attr<number[]>('pads', Array(2 * spatial).fill(0));
    const outPad = c.attr<number[]>('output_padding', Array(spatial).fill(0));
    const out: Dim[] = explicit ? [...explicit] : kernel.map((k, i) => {
      const d = x[2 + i]!;
      return typeof d === 'number' ? strides[i]! * (d - 1) + outPad[i]! + k - pads[i]! - pads[i + spatial]! : unknownDim();
    });
    const cout = typeof w[1] === 'number' ? (w[1] as number) * group : unknownDim();
    return [{ dtype: c.dtype(0), shape: [x[0]!, cout, ...out] }];
  },
  MaxPool: (c) => {
    const shape = [c.shape(0)[0]!, c.shape(0)[1]!, ...poolLike(c, c.attr<number[]>('kernel_shape', []))];
    return [{ dtype: c.dtype(0), shape }, { dtype: 'int64', shape }];
  },
  AveragePool: (c) => [{ dtype: c.dtype(0), shape: [c.shape(0)[0]!, c.shape(0)[1]!, ...poolLike(c, c.attr<number[]>('kernel_shape', []))] }],
  GlobalAveragePool: (c) => [{ dtype: c.dtype(0), shape: c.shape(0).map((d, i) => (i < 2 ? d : 1)) }],
  SoftmaxCrossEntropyLoss: (c) => {
    const reduction = c.attr('reduction', 'mean');
    return [
      { dtype: c.dtype(0), shape: reduction === 'none' ? c.shape(1) : [] },
      c.type(0),
    ];
  },
  Shape: (c) => {
    const rank = c.shape(0).length;
    const start = normAxis(c.attr('start', 0), rank);
    const end = c.node.attrs.end === undefined ? rank : normAxis(c.attr('end', rank), rank);
    return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
  },
  Size: () => [{ dtype: 'int64', shape: [] }],
  Constant: (c) => {
    const value = c.node.attrs.value;
    if (!(value instanceof Tensor)) c.fail('only tensor-valued Constant nodes are supported');
    return [{ dtype: (value as Tensor).dtype, shape: [...(value as Tensor).dims] }];
  },
  ConstantOfShape: (c) => {
    const value = c.node.attrs.value;
    const dtype: DType = value instanceof Tensor ? value.dtype : 'float32';
    const dims = c.ints(0);
    if (dims) return [{ dtype, shape: dims }];
    const len = c.shape(0)[0];
    if (typeof len !== 'number') c.fail('the shape input has an unknown length');
    return [{ dtype, shape: Array.from({ length: len as number }, () => unknownDim()) }];
  },
  Range: (c) => [{ dtype: c.dtype(0), shape: [unknownDim()] }],
  OneHot: (c) => {
    const idx = c.shape(0);
    const depth = c.ints(1)?.[0] ?? unknownDim();
    const rank = idx.length + 1;
    const axis = normAxis(c.attr('axis', -1), rank);
    const out = [...idx];
    out.splice(axis, 0, depth);
    return [{ dtype: c.dtype(2), shape: out }];
  },
  ScatterND: same,
  ScatterElements: same,
  Pad: (c) => {
    const x = c.shape(0);
    const pads = c.ints(1);
    const axes = c.has(3) ? c.ints(3) : x.map((_, i) => i);
    if (!pads || !axes) return [{ dtype: c.dtype(0), shape: x.map(() => unknownDim()) }];
    const out = [...x];
    axes.forEach((a, j) => {
      const axis = normAxis(a, x.length);
      const d = out[axis]!;
      out[axis] = typeof d === 'number' ? d + pads[j]! + pads[j + axes.length]! : (pads[j] === 0 && pads[j + axes.length] === 0 ? d : unknownDim());
    });
    return [{ dtype: c.dtype(0), shape: out }];
  },
  Trilu: same,
  DynamicQuantizeLinear: (c) => [{ dtype: 'uint8', shape: c.shape(0) }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }],
  MatMulInteger: (c) => [{ dtype: 'int32', shape: matmulShape(c.shape(0), c.shape(1), c) }],
  DequantizeLinear: (c) => [{ dtype: c.dtype(1), shape: c.shape(0) }],
  QuantizeLinear: (c) => [{ dtype: c.has(2) ? c.dtype(2) : 'uint8', shape: c.shape(0) }],
  TopK: (c) => {
    const x = [...c.shape(0)];
    const axis = normAxis(c.attr('axis', -1), x.length);
    x[axis] = c.ints(1)?.[0] ?? unknownDim();
    return [{ dtype: c.dtype(0), shape: x }, { dtype: 'int64', shape: x }];
  },
};

export interface InferOptions {
  /** Reading a model from disk: an unknown op or a failed rule leaves its outputs untyped. */
  lenient?: boolean;
}

/** com.microsoft contrib ops minnow emits (quantization). */
const MICROSOFT_RULES: Record<string, Rule> = {
  MatMulNBits: (c) => [{ dtype: c.dtype(0), shape: [...c.shape(0).slice(0, -1), c.attr('N', 0)] }],
};

export function inferNode(graph: Graph, node: Node, options: InferOptions = {}): (ValueType | undefined)[] {
  const rule = node.domain === '' || node.domain === 'ai.onnx' ? RULES[node.opType] : node.domain === 'com.microsoft' ? MICROSOFT_RULES[node.opType] : undefined;
  if (!rule) {
    if (options.lenient) return [];
    throw new Error(`no shape inference rule for op ${node.domain ? node.domain + '.' : ''}${node.opType}`);
  }
  try {
    return rule(new InferContext(graph, node));
  } catch (err) {
    if (options.lenient) return [];
    throw err;
  }
}

export function supportedOps(): string[] {
  return Object.keys(RULES).sort();
}
