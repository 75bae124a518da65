// The neural-network ops of minnow's students: layer normalization, softmax and sums over an axis,
// and the convolutions and max pooling of the image students (NCHW, 2-D).
import { MicroTensor, lastDim, numbers, scratch, sizeOf, zeros } from '../tensor.js';
import { axisOf, intAttr, intsAttr, type Kernel } from './kernel.js';
import { gemm } from './gemm.js';
import { finish, softmaxRows } from './epilogue.js';

/** Rows of `inner` values, `outer` of them, for ops over the trailing axes from `axis`. */
function rows(x: MicroTensor, axis: number): [number, number] {
  return [sizeOf(x.dims.slice(0, axis)), sizeOf(x.dims.slice(axis))];
}

const layerNorm: Kernel = ([x, scale, bias], node) => {
  const axis = axisOf(intAttr(node, 'axis', -1), x!.dims.length);
  const eps = typeof node.attrs.epsilon === 'number' ? node.attrs.epsilon : 1e-5;
  const [outer, inner] = rows(x!, axis);
  const v = x!.data as Float32Array, g = scale!.data as Float32Array, b = bias?.data as Float32Array | undefined;
  const out = zeros('float32', x!.dims), o = out.data as Float32Array;
  for (let r = 0; r < outer; r++) {
    const at = r * inner;
    let mean = 0;
    for (let i = 0; i < inner; i++) mean += v[at + i]!;
    mean /= inner;
    let variance = 0;
    for (let i = 0; i < inner; i++) { const d = v[at + i]! - mean; variance += d * d; }
    const inv = 1 / Math.sqrt(variance / inner + eps);
    for (let i = 0; i < inner; i++) o[at + i] = (v[at + i]! - mean) * inv * g[i]! + (b ? b[i]! : 0);
  }
  return [out];
};

// Over the last axis only: checks.ts refuses any other at load.
const softmax: Kernel = ([x]) => {
  const out = zeros('float32', x!.dims), inner = lastDim(x!);
  softmaxRows(x!.data as Float32Array, out.data as Float32Array, x!.size / inner, inner);
  return [out];
};

const reduceSum: Kernel = ([x, axesInput], node) => {
  const rank = x!.dims.length;
  // No axes, or an empty list of them, reduce over every axis (noop_with_empty_axes is refused at load).
  const listed = axesInput ? numbers(axesInput) : [];
  const axes = new Set((listed.length ? listed : x!.dims.map((_, i) => i)).map((a) => axisOf(a, rank)));
  const keep = intAttr(node, 'keepdims', 1) === 1;
  // One axis at a time, the last first: each a sum of rows, with no index arithmetic.
  let t = x!;
  for (const axis of [...axes].sort((a, b) => b - a)) {
    const out = zeros(t.type, t.dims.map((d, i) => (i === axis ? 1 : d)));
    sumRows(t.data as Float32Array, out.data as Float32Array, sizeOf(t.dims.slice(0, axis)), t.dims[axis]!, sizeOf(t.dims.slice(axis + 1)));
    t = out;
  }
  return [new MicroTensor(t.type, t.data, keep ? t.dims : x!.dims.filter((_, i) => !axes.has(i)))];
};

function sumRows(v: Float32Array, o: Float32Array, outer: number, along: number, inner: number): void {
  for (let b = 0, at = 0; b < outer; b++) {
    for (let r = 0; r < along; r++) for (let i = 0; i < inner; i++, at++) o[b * inner + i] = o[b * inner + i]! + v[at]!;
  }
}

interface Window { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; oh: number; ow: number }

function windowOf(node: Parameters<Kernel>[1], h: number, w: number, kernel: number[]): Window {
  const [kh, kw] = kernel as [number, number];
  const [sh, sw] = (intsAttr(node, 'strides') ?? [1, 1]) as [number, number];
  const [ph, pw, ph2, pw2] = (intsAttr(node, 'pads') ?? [0, 0, 0, 0]) as [number, number, number, number];
  if ((intsAttr(node, 'dilations') ?? [1, 1]).some((d) => d !== 1)) throw new Error('minnow/micro does not dilate convolutions');
  return { kh, kw, sh, sw, ph, pw, oh: Math.floor((h + ph + ph2 - kh) / sh) + 1, ow: Math.floor((w + pw + pw2 - kw) / sw) + 1 };
}

/**
 * Conv as a product: each group's input unrolled into columns [cg kh kw x oh ow] (zeros where the
 * window hangs over the padding), then its filters [m/group x cg kh kw] times them through gemm, whose
 * rows are the output's channels, already in NCHW order.
 */
const conv: Kernel = (inputs, node) => {
  const [x, weight, bias] = inputs;
  const [n, c, h, w] = x!.dims as [number, number, number, number];
  const [m, cg] = weight!.dims as [number, number];
  const group = intAttr(node, 'group', 1), perGroup = m / group;
  const win = windowOf(node, h, w, weight!.dims.slice(2));
  const depth = cg * win.kh * win.kw, plane = win.oh * win.ow;
  const out = zeros('float32', [n, m, win.oh, win.ow]);
  const xv = x!.data as Float32Array, bv = bias?.data as Float32Array | undefined, o = out.data as Float32Array;
  const cols = scratch('columns', depth * plane, Float32Array);
  for (let b = 0; b < n; b++) {
    for (let g = 0; g < group; g++) {
      unroll(xv, (b * c + g * cg) * h * w, cg, h, w, win, cols);
      gemm(weight!.data as Float32Array, g * perGroup * depth, cols, 0, o, (b * m + g * perGroup) * plane, perGroup, depth, plane);
    }
    if (bv) for (let f = 0; f < m; f++) for (let i = (b * m + f) * plane, end = i + plane; i < end; i++) o[i] = o[i]! + bv[f]!;
  }
  return [finish(out, inputs, node)];
};

/** The windows over cg channels of x from `at`, one column per output position (im2col). */
function unroll(x: Float32Array, at: number, cg: number, h: number, w: number, win: Window, cols: Float32Array): void {
  const { oh, ow, sh, sw, ph, pw } = win;
  for (let ch = 0, to = 0; ch < cg; ch++) {
    for (let i = 0; i < win.kh; i++) {
      for (let j = 0; j < win.kw; j++) {
        // The output columns whose window column j lands inside the image: zeros either side.
        const lo = Math.min(ow, Math.max(0, Math.ceil((pw - j) / sw))), hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 + pw - j) / sw) + 1));
        for (let y = 0; y < oh; y++) {
          const yi = y * sh - ph + i;
          if (yi < 0 || yi >= h) { cols.fill(0, to, to + ow); to += ow; continue; }
          const from = at + (ch * h + yi) * w - pw + j;
          let xo = 0;
          for (; xo < lo; xo++) cols[to++] = 0;
          for (; xo < hi; xo++) cols[to++] = x[from + xo * sw]!;
          for (; xo < ow; xo++) cols[to++] = 0;
        }
      }
    }
  }
}

const maxPool: Kernel = ([x], node) => {
  const [n, c, h, w] = x!.dims as [number, number, number, number];
  const win = windowOf(node, h, w, intsAttr(node, 'kernel_shape')!);
  const out = zeros('float32', [n, c, win.oh, win.ow]);
  const xv = x!.data as Float32Array, o = out.data as Float32Array;
  for (let p = 0, to = 0; p < n * c; p++) {
    for (let y = 0; y < win.oh; y++) {
      // The part of each window inside the image (padding never wins a max), found once per row and column.
      const top = y * win.sh - win.ph, rows0 = Math.max(0, top), rows1 = Math.min(h, top + win.kh);
      for (let xo = 0; xo < win.ow; xo++, to++) {
        const left = xo * win.sw - win.pw, cols0 = Math.max(0, left), cols1 = Math.min(w, left + win.kw);
        let best = -Infinity;
        for (let yi = rows0; yi < rows1; yi++) {
          for (let at = (p * h + yi) * w + cols0, end = at + cols1 - cols0; at < end; at++) if (xv[at]! > best) best = xv[at]!;
        }
        o[to] = best;
      }
    }
  }
  // The indices output, where a graph names one, is never read by minnow's students.
  return [out, zeros('int64', [0])];
};

export const NN: Record<string, Kernel> = { LayerNormalization: layerNorm, Softmax: softmax, ReduceSum: reduceSum, Conv: conv, MaxPool: maxPool };
