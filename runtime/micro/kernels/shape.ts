// Ops that move values without computing new ones: shapes, reshapes, transposes, slices of
// several kinds, and the casts and constants around them.
import { MicroTensor, fromNumbers, numbers, offsets, sizeOf, zeros, type MicroType } from '../tensor.js';
import { TYPE_CODES } from '../graph.js';
import { axisOf, intAttr, intsAttr, type Kernel } from './kernel.js';

const TYPE_OF_CODE = Object.fromEntries(Object.entries(TYPE_CODES).map(([t, c]) => [c, t])) as Record<number, MicroType>;

/** Same values, other dims (the array is shared: nothing writes into a tensor after it is made). */
const view = (t: MicroTensor, dims: number[]) => new MicroTensor(t.type, t.data, dims);

function reshape([x, shape]: (MicroTensor | undefined)[]): MicroTensor[] {
  const want = numbers(shape!).map((d, i) => (d === 0 ? x!.dims[i]! : d));
  const known = want.reduce((a, d) => (d === -1 ? a : a * d), 1);
  return [view(x!, want.map((d) => (d === -1 ? x!.size / known : d)))];
}

function transpose(x: MicroTensor, perm: number[]): MicroTensor {
  const rank = x.dims.length;
  const dims = perm.map((p) => x.dims[p]!);
  const out = zeros(x.type, dims);
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) { inStrides[d] = s; s *= x.dims[d]!; }
  const strides = perm.map((p) => inStrides[p]!);
  if (rank <= 4 && x.type === 'float32') {
    // Four nested loops over the output, source strides padded with leading 1-long dims: no index map.
    const pad = 4 - rank;
    copy4(x.data as Float32Array, out.data as Float32Array, [...new Array<number>(pad).fill(1), ...dims], [...new Array<number>(pad).fill(0), ...strides]);
    return out;
  }
  const from = offsets(dims, strides);
  const src = x.data as ArrayLike<unknown>, dst = out.data as unknown as unknown[];
  for (let i = 0; i < dst.length; i++) dst[i] = src[from[i]!];
  return out;
}

/** A float32 transpose's copy (other types take the index map: one loop would see every element type). */
function copy4(x: Float32Array, o: Float32Array, [d0, d1, d2, d3]: number[], [s0, s1, s2, s3]: number[]): void {
  let at = 0;
  for (let i = 0; i < d0!; i++) for (let j = 0; j < d1!; j++) for (let k = 0; k < d2!; k++) {
    const base = i * s0! + j * s1! + k * s2!;
    for (let l = 0; l < d3!; l++) o[at++] = x[base + l * s3!]!;
  }
}
/** Slices of `x` along `axis`, of the given sizes, in order. */
function split(x: MicroTensor, axis: number, sizes: number[]): MicroTensor[] {
  const outer = sizeOf(x.dims.slice(0, axis)), inner = sizeOf(x.dims.slice(axis + 1)), along = x.dims[axis]!;
  let start = 0;
  return sizes.map((n) => {
    const out = zeros(x.type, x.dims.map((d, i) => (i === axis ? n : d)));
    const src = x.data as unknown as { subarray(a: number, b: number): ArrayLike<number> }, dst = out.data as unknown as { set(a: ArrayLike<number>, o: number): void };
    for (let o = 0; o < outer; o++) dst.set(src.subarray((o * along + start) * inner, (o * along + start + n) * inner), o * n * inner);
    start += n;
    return out;
  });
}

function concat(parts: MicroTensor[], axis: number): MicroTensor {
  const first = parts[0]!;
  const along = parts.reduce((a, p) => a + p.dims[axis]!, 0);
  const out = zeros(first.type, first.dims.map((d, i) => (i === axis ? along : d)));
  const outer = sizeOf(first.dims.slice(0, axis)), inner = sizeOf(first.dims.slice(axis + 1));
  const dst = out.data as unknown as { set(a: ArrayLike<number>, o: number): void };
  for (let o = 0, at = 0; o < outer; o++) {
    for (const p of parts) {
      const n = p.dims[axis]! * inner;
      // Short runs (an int4 table's nibbles, one value each) by a loop: a subarray and set() apiece cost far more.
      if (n < 16 && out.type === 'float32') copyFloats(p.data as Float32Array, o * n, out.data as Float32Array, at, n);
      else dst.set((p.data as unknown as { subarray(a: number, b: number): ArrayLike<number> }).subarray(o * n, (o + 1) * n), at);
      at += n;
    }
  }
  return out;
}

function copyFloats(src: Float32Array, from: number, dst: Float32Array, to: number, n: number): void {
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i]!;
}

function gather([data, indices]: (MicroTensor | undefined)[], axis: number): MicroTensor {
  const a = axisOf(axis, data!.dims.length);
  const outer = sizeOf(data!.dims.slice(0, a)), inner = sizeOf(data!.dims.slice(a + 1)), along = data!.dims[a]!;
  const idx = numbers(indices!).map((i) => (i < 0 ? i + along : i));
  const out = zeros(data!.type, [...data!.dims.slice(0, a), ...indices!.dims, ...data!.dims.slice(a + 1)]);
  const src = data!.data as unknown as { subarray(a: number, b: number): ArrayLike<number> }, dst = out.data as unknown as { set(a: ArrayLike<number>, o: number): void };
  for (let o = 0, at = 0; o < outer; o++) {
    for (const i of idx) {
      if (i < 0 || i >= along) throw new Error(`Gather index ${i} is out of range [0, ${along})`);
      dst.set(src.subarray((o * along + i) * inner, (o * along + i + 1) * inner), at);
      at += inner;
    }
  }
  return out;
}

function cast(x: MicroTensor, to: MicroType): MicroTensor {
  const out = zeros(to, x.dims);
  const src = x.data as ArrayLike<number | bigint>;
  if (to === 'int64') {
    // NaN and infinities have no int64; 0 rather than a throw (onnxruntime leaves them undefined too).
    const d = out.data as BigInt64Array;
    for (let i = 0; i < d.length; i++) { const v = Number(src[i]); d[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n; }
  } else if (to === 'bool') {
    const d = out.data as Uint8Array;
    for (let i = 0; i < d.length; i++) { const v = Number(src[i]); d[i] = v !== 0 ? 1 : 0; }
  }
  else { const d = out.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] = Number(src[i]); }
  return out;
}

function squeezeDims(x: MicroTensor, axes: number[] | undefined): number[] {
  const drop = new Set((axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => axisOf(a, x.dims.length)));
  return x.dims.filter((_, i) => !drop.has(i));
}

function unsqueezeDims(x: MicroTensor, axes: number[]): number[] {
  const rank = x.dims.length + axes.length;
  const add = new Set(axes.map((a) => axisOf(a, rank)));
  const dims: number[] = [];
  for (let i = 0, j = 0; i < rank; i++) dims.push(add.has(i) ? 1 : x.dims[j++]!);
  return dims;
}

function range([start, limit, delta]: (MicroTensor | undefined)[]): MicroTensor {
  const [s, l, d] = [start!, limit!, delta!].map((t) => numbers(t)[0]!) as [number, number, number];
  const n = Math.max(0, Math.ceil((l - s) / d));
  return fromNumbers(start!.type, [n], Array.from({ length: n }, (_, i) => s + i * d));
}

export const SHAPE: Record<string, Kernel> = {
  Constant: (_, node) => [node.attrs.value as MicroTensor],
  Shape: ([x], node) => {
    const dims = x!.dims.slice(intAttr(node, 'start', 0), node.attrs.end === undefined ? undefined : intAttr(node, 'end', 0));
    return [fromNumbers('int64', [dims.length], dims)];
  },
  Reshape: reshape,
  Flatten: ([x], node) => {
    const a = axisOf(intAttr(node, 'axis', 1), x!.dims.length);
    return [view(x!, [sizeOf(x!.dims.slice(0, a)), sizeOf(x!.dims.slice(a))])];
  },
  Squeeze: ([x, axes]) => [view(x!, squeezeDims(x!, axes && numbers(axes)))],
  Unsqueeze: ([x, axes]) => [view(x!, unsqueezeDims(x!, numbers(axes!)))],
  Transpose: ([x], node) => [transpose(x!, intsAttr(node, 'perm') ?? x!.dims.map((_, i) => x!.dims.length - 1 - i))],
  Split: ([x, sizes], node) => {
    const axis = axisOf(intAttr(node, 'axis', 0), x!.dims.length);
    const n = node.outputs.length, along = x!.dims[axis]!;
    // num_outputs: equal chunks of ceil(along / n), the last one what remains.
    const chunk = Math.ceil(along / n);
    const each = sizes ? numbers(sizes) : Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, along - i * chunk)));
    return split(x!, axis, each);
  },
  Concat: (parts, node) => [concat(parts as MicroTensor[], axisOf(intAttr(node, 'axis', 0), parts[0]!.dims.length))],
  Gather: (inputs, node) => [gather(inputs, intAttr(node, 'axis', 0))],
  Cast: ([x], node) => {
    const to = TYPE_OF_CODE[intAttr(node, 'to', 1)];
    if (!to) throw new Error(`Cast to ONNX type ${String(node.attrs.to)} is not supported by minnow/micro`);
    return [cast(x!, to)];
  },
  Range: (inputs) => [range(inputs)],
};
