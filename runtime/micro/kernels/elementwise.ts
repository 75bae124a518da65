// Element-wise ops with ONNX (numpy) broadcasting, and the unary activations. The common shapes
// take a fast path: equal shapes, and a bias over the trailing dimensions.
import { offsets, sizeOf, zeros, type MicroType } from '../tensor.js';
import type { Kernel } from './kernel.js';

export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  return Array.from({ length: n }, (_, i) => {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes [${a}] and [${b}] do not broadcast`);
    return x === 1 ? y : x;
  });
}

/** For each output index, the index into a tensor of `dims` broadcast to `out`. */
function broadcastIndex(dims: readonly number[], out: readonly number[]): Int32Array | undefined {
  const total = sizeOf(out);
  if (sizeOf(dims) === total) return undefined;
  const rank = out.length, pad = rank - dims.length;
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= pad; d--) { strides[d] = dims[d - pad] === 1 ? 0 : s; s *= dims[d - pad]!; }
  return offsets(out, strides);
}

type Num = number | bigint;

/**
 * How many trailing values of `out` a tensor of `dims` repeats (its dims, less leading ones, end
 * `out`'s), or -1. The common broadcasts (a bias, a scalar, a mask row) are such repeats.
 */
function repeatOf(dims: readonly number[], out: readonly number[]): number {
  let first = 0;
  while (first < dims.length && dims[first] === 1) first++;
  const tail = dims.slice(first);
  return tail.every((d, i) => d === out[out.length - tail.length + i]) ? sizeOf(tail) : -1;
}

type Loop = (x: ArrayLike<Num>, y: ArrayLike<Num>, o: Num[], ra: number, rb: number, ia?: Int32Array, ib?: Int32Array) => void;

/** The loops of one binary op, over repeats without index arrays where it can. */
function makeLoop(f: (x: Num, y: Num) => Num): Loop {
  return (x, y, o, ra, rb, ia, ib) => {
    if (ra === o.length && rb > 0) {
      for (let at = 0; at < o.length; at += rb) for (let j = 0; j < rb; j++) o[at + j] = f(x[at + j]!, y[j]!);
    } else if (rb === o.length && ra > 0) {
      for (let at = 0; at < o.length; at += ra) for (let j = 0; j < ra; j++) o[at + j] = f(x[j]!, y[at + j]!);
    } else {
      for (let i = 0; i < o.length; i++) o[i] = f(x[ia ? ia[i]! : i]!, y[ib ? ib[i]! : i]!);
    }
  };
}

/**
 * A binary op over two tensors broadcast together, into a tensor of `type` (default: a's). Its
 * float32 loop is a closure of its own: V8 keeps type feedback per closure, and a loop that has also
 * seen the int64 arithmetic of shapes would run every float add slowly.
 */
function binary(f: (x: Num, y: Num) => Num, type?: MicroType): Kernel {
  const floats = makeLoop(f), others = makeLoop(f);
  return ([a, b]) => {
    const dims = broadcastDims(a!.dims, b!.dims);
    const out = zeros(type ?? a!.type, dims);
    const o = out.data as unknown as Num[];
    const ra = repeatOf(a!.dims, dims), rb = repeatOf(b!.dims, dims);
    const direct = (ra === o.length && rb > 0) || (rb === o.length && ra > 0);
    const ia = direct ? undefined : broadcastIndex(a!.dims, dims), ib = direct ? undefined : broadcastIndex(b!.dims, dims);
    const loop = a!.type === 'float32' && out.type === 'float32' ? floats : others;
    loop(a!.data as ArrayLike<Num>, b!.data as ArrayLike<Num>, o, ra, rb, ia, ib);
    return [out];
  };
}

function unary(f: (x: number) => number): Kernel {
  return ([a]) => {
    const out = zeros(a!.type, a!.dims);
    const x = a!.data as Float32Array, o = out.data as Float32Array;
    for (let i = 0; i < o.length; i++) o[i] = f(x[i]!);
    return [out];
  };
}

/** erf to 1.2e-7 (Numerical Recipes' erfc, Chebyshev): exact Gelu needs it. */
function erf(x: number): number {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

const gelu: Kernel = (inputs, node) => unary(node.attrs.approximate === 'tanh'
  ? (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
  : (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)))(inputs, node);

const add = (x: Num, y: Num) => (x as number) + (y as number);

export const ELEMENTWISE: Record<string, Kernel> = {
  Add: binary(add),
  Sub: binary((x, y) => (x as number) - (y as number)),
  Mul: binary((x, y) => (x as number) * (y as number)),
  Div: binary((x, y) => (typeof x === 'bigint' ? x / (y as bigint) : x / (y as number))),
  Max: binary((x, y) => (x > y ? x : y)),
  Greater: binary((x, y) => Number(x > y), 'bool'),
  Relu: unary((x) => (x > 0 ? x : 0)),
  Floor: unary(Math.floor),
  Gelu: gelu,
  Identity: ([a]) => [a!],
  Where: ([cond, a, b]) => {
    const dims = broadcastDims(broadcastDims(cond!.dims, a!.dims), b!.dims);
    const out = zeros(a!.type, dims);
    const ic = broadcastIndex(cond!.dims, dims), ia = broadcastIndex(a!.dims, dims), ib = broadcastIndex(b!.dims, dims);
    const c = cond!.data, x = a!.data as ArrayLike<Num>, y = b!.data as ArrayLike<Num>, o = out.data as unknown as Num[];
    for (let i = 0; i < o.length; i++) o[i] = c[ic ? ic[i]! : i] ? x[ia ? ia[i]! : i]! : y[ib ? ib[i]! : i]!;
    return [out];
  },
};

