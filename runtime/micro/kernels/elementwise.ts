// Element-wise ops with ONNX (numpy) broadcasting, and the unary activations. The common shapes
// take a fast path: equal shapes, and a bias over the trailing dimensions.
import { broadcastOffsets, sizeOf, zeros, type MicroType } from '../tensor.js';
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
  return sizeOf(dims) === sizeOf(out) ? undefined : broadcastOffsets(dims, out);
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

type Loop = (x: ArrayLike<Num>, y: ArrayLike<Num>, o: Num[], ia?: Int32Array, ib?: Int32Array) => void;

function makeLoop(f: (x: Num, y: Num) => Num): Loop {
  return (x, y, o, ia, ib) => { for (let i = 0; i < o.length; i++) o[i] = f(x[ia ? ia[i]! : i]!, y[ib ? ib[i]! : i]!); };
}

/** o = x op y, where y repeats every `block` values of x (a bias, a scalar, a mask row, or all of x). */
type FloatLoop = (x: Float32Array, y: Float32Array, o: Float32Array, block: number) => void;

/**
 * The float32 loops, each written out with its arithmetic inline. V8 keeps one set of type feedback
 * for every closure made at the same place in the source, so a loop made by a factory for each op
 * calls its op through a shared, polymorphic site: 3x slower once it has run two ops (measured).
 */
export const FLOAT_LOOPS: Record<string, FloatLoop> = {
  Add: (x, y, o, block) => { for (let at = 0; at < o.length; at += block) for (let j = 0; j < block; j++) o[at + j] = x[at + j]! + y[j]!; },
  Sub: (x, y, o, block) => { for (let at = 0; at < o.length; at += block) for (let j = 0; j < block; j++) o[at + j] = x[at + j]! - y[j]!; },
  Mul: (x, y, o, block) => { for (let at = 0; at < o.length; at += block) for (let j = 0; j < block; j++) o[at + j] = x[at + j]! * y[j]!; },
  Div: (x, y, o, block) => { for (let at = 0; at < o.length; at += block) for (let j = 0; j < block; j++) o[at + j] = x[at + j]! / y[j]!; },
};

/** o = x op y[row] for rows of `inner` values: y one value per row (a [..., n, 1] mask or scale). */
type RowLoop = (x: Float32Array, y: Float32Array, o: Float32Array, inner: number) => void;
const ROW_LOOPS: Record<string, RowLoop> = {
  Add: (x, y, o, inner) => { for (let r = 0, at = 0; at < o.length; r++) { const v = y[r]!; for (const end = at + inner; at < end; at++) o[at] = x[at]! + v; } },
  Mul: (x, y, o, inner) => { for (let r = 0, at = 0; at < o.length; r++) { const v = y[r]!; for (const end = at + inner; at < end; at++) o[at] = x[at]! * v; } },
};

/** How many trailing values of `out` each value of a tensor of `dims` covers (its dims being out's with trailing ones), or -1. */
function rowOf(dims: readonly number[], out: readonly number[]): number {
  const pad = out.length - dims.length;
  let inner = 1, d = out.length - 1;
  for (; d >= pad && dims[d - pad] === 1 && out[d] !== 1; d--) inner *= out[d]!;
  for (let i = 0; i <= d; i++) if ((i < pad ? 1 : dims[i - pad]) !== out[i]) return -1;
  return inner > 1 ? inner : -1;
}

/**
 * A binary op over two tensors broadcast together, into a tensor of `type` (default: a's). Float32
 * with one operand repeating over the other takes the op's own loop; anything else (int64 shape
 * arithmetic, two-sided broadcasts) the general one, through index maps.
 */
function binary(name: string, f: (x: Num, y: Num) => Num, type?: MicroType): Kernel {
  const general = makeLoop(f), floats = FLOAT_LOOPS[name];
  return ([a, b]) => {
    const dims = broadcastDims(a!.dims, b!.dims);
    const out = zeros(type ?? a!.type, dims);
    const n = out.size;
    if (floats && a!.type === 'float32' && b!.type === 'float32' && out.type === 'float32') {
      const x = a!.data as Float32Array, y = b!.data as Float32Array, o = out.data as Float32Array;
      const rb = a!.size === n ? repeatOf(b!.dims, dims) : -1, ra = b!.size === n ? repeatOf(a!.dims, dims) : -1;
      if (rb > 0) { floats(x, y, o, rb); return [out]; }
      // The repeated operand first: Add and Mul commute; Sub and Div (1 - mask) take the general loop.
      if (ra > 0 && (name === 'Add' || name === 'Mul')) { floats(y, x, o, ra); return [out]; }
      const rows = ROW_LOOPS[name], inner = rows && a!.size === n ? rowOf(b!.dims, dims) : -1;
      if (inner > 0) { rows!(x, y, o, inner); return [out]; }
    }
    general(a!.data as ArrayLike<Num>, b!.data as ArrayLike<Num>, out.data as unknown as Num[], broadcastIndex(a!.dims, dims), broadcastIndex(b!.dims, dims));
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

/** erf to about 1e-12: its series below 3, a continued fraction of erfc above (used to build GELU_TABLE). */
function erf(x: number): number {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) {
    let sum = 0, term = z;
    for (let n = 0; Math.abs(term) > 1e-17; n++) { sum += term / (2 * n + 1); term *= (-z * z) / (n + 1); }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    let f = 0;
    for (let k = 60; k >= 1; k--) f = k / 2 / (z + f);
    r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f);
  }
  return x < 0 ? -r : r;
}

/**
 * Exact Gelu, x Phi(x), as a cubic per 1/32 on [-8, 8] (Hermite, from the value and slope at each
 * end): within 3e-9 of it, at 4 ns a value against 27 for an erf through Math.exp (measured). Below
 * -8 Gelu is 0 and above 8 it is x, to float32 precision.
 */
const GELU_STEPS = 32, GELU_MAX = 8;
const GELU_TABLE = (() => {
  const n = 2 * GELU_MAX * GELU_STEPS, c = new Float64Array(n * 4);
  const f = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
  const slope = (x: number) => (0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp((-x * x) / 2)) / Math.sqrt(2 * Math.PI)) / GELU_STEPS;
  for (let i = 0; i < n; i++) {
    const x0 = -GELU_MAX + i / GELU_STEPS, x1 = x0 + 1 / GELU_STEPS, f0 = f(x0), f1 = f(x1), d0 = slope(x0), d1 = slope(x1);
    c.set([f0, d0, 3 * (f1 - f0) - 2 * d0 - d1, 2 * (f0 - f1) + d0 + d1], i * 4);
  }
  return c;
})();

function gelu(x: number): number {
  if (!(x > -GELU_MAX)) return x !== x ? x : 0;
  if (x >= GELU_MAX) return x;
  const t = (x + GELU_MAX) * GELU_STEPS, i = Math.floor(t), u = t - i, at = i * 4, c = GELU_TABLE;
  return c[at]! + u * (c[at + 1]! + u * (c[at + 2]! + u * c[at + 3]!));
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** In place: the activations that a product's epilogue applies too (see fuse.ts), each its own loop. */
export const ACTIVATIONS: Record<string, (v: Float32Array, tanh: boolean) => void> = {
  Gelu: (v, tanh) => {
    if (tanh) for (let i = 0; i < v.length; i++) { const x = v[i]!; v[i] = 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))); }
    else for (let i = 0; i < v.length; i++) v[i] = gelu(v[i]!);
  },
  Relu: (v) => { for (let i = 0; i < v.length; i++) if (!(v[i]! > 0)) v[i] = 0; },
};

function activation(name: string): Kernel {
  return ([a], node) => {
    const out = zeros(a!.type, a!.dims);
    (out.data as Float32Array).set(a!.data as Float32Array);
    // Integer Relu (opset 14) keeps its type: x - x is 0 of x's kind, number or bigint.
    if (a!.type !== 'float32') { const o = out.data as unknown as number[]; for (let i = 0; i < o.length; i++) if (!(o[i]! > 0)) o[i] = o[i]! - o[i]!; }
    else ACTIVATIONS[name]!(out.data as Float32Array, node.attrs.approximate === 'tanh');
    return [out];
  };
}

export const ELEMENTWISE: Record<string, Kernel> = {
  Add: binary('Add', (x, y) => (x as number) + (y as number)),
  Sub: binary('Sub', (x, y) => (x as number) - (y as number)),
  Mul: binary('Mul', (x, y) => (x as number) * (y as number)),
  Div: binary('Div', (x, y) => (typeof x === 'bigint' ? x / (y as bigint) : x / (y as number))),
  Max: binary('Max', (x, y) => (x > y ? x : y)),
  Greater: binary('Greater', (x, y) => Number(x > y), 'bool'),
  Relu: activation('Relu'),
  Floor: unary(Math.floor),
  Gelu: activation('Gelu'),
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

