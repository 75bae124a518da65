// The neural-network ops of minnow's students: layer normalization, softmax and sums over an axis,
// and the convolutions and max pooling of the image students (NCHW, 2-D).
import { MicroTensor, lastDim, numbers, sizeOf, zeros } from '../tensor.js';
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
  const kept = x!.dims.map((d, i) => (axes.has(i) ? 1 : d));
  const out = zeros(x!.type, kept);
  const o = out.data as Float32Array, v = x!.data as Float32Array;
  const strides = kept.map((_, i) => sizeOf(kept.slice(i + 1)));
  const pos = new Array<number>(rank).fill(0);
  for (let i = 0; i < v.length; i++) {
    let at = 0;
    for (let d = 0; d < rank; d++) if (!axes.has(d)) at += pos[d]! * strides[d]!;
    o[at] = o[at]! + v[i]!;
    for (let d = rank - 1; d >= 0 && ++pos[d]! === x!.dims[d]!; d--) pos[d] = 0;
  }
  return [new MicroTensor(out.type, out.data, keep ? kept : x!.dims.filter((_, i) => !axes.has(i)))];
};

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
  const cols = columns(depth * plane);
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
  const plane = win.oh * win.ow;
  for (let ch = 0, row = 0; ch < cg; ch++) {
    for (let i = 0; i < win.kh; i++) {
      for (let j = 0; j < win.kw; j++, row++) {
        let to = row * plane;
        for (let y = 0; y < win.oh; y++) {
          const yi = y * win.sh - win.ph + i, inside = yi >= 0 && yi < h, from = at + (ch * h + yi) * w;
          for (let xo = 0; xo < win.ow; xo++) {
            const xj = xo * win.sw - win.pw + j;
            cols[to++] = inside && xj >= 0 && xj < w ? x[from + xj]! : 0;
          }
        }
      }
    }
  }
}

let colsArray = new Float32Array(0);
function columns(size: number): Float32Array {
  if (colsArray.length < size) colsArray = new Float32Array(size);
  return colsArray;
}

const maxPool: Kernel = ([x], node) => {
  const [n, c, h, w] = x!.dims as [number, number, number, number];
  const win = windowOf(node, h, w, intsAttr(node, 'kernel_shape')!);
  const out = zeros('float32', [n, c, win.oh, win.ow]);
  const xv = x!.data as Float32Array, o = out.data as Float32Array;
  for (let p = 0; p < n * c; p++) {
    for (let y = 0; y < win.oh; y++) {
      for (let xo = 0; xo < win.ow; xo++) {
        let best = -Infinity;
        for (let i = 0; i < win.kh; i++) {
          const yi = y * win.sh - win.ph + i;
          if (yi < 0 || yi >= h) continue;
          for (let j = 0; j < win.kw; j++) {
            const xj = xo * win.sw - win.pw + j;
            if (xj >= 0 && xj < w) best = Math.max(best, xv[p * h * w + yi * w + xj]!);
          }
        }
        o[(p * win.oh + y) * win.ow + xo] = best;
      }
    }
  }
  // The indices output, where a graph names one, is never read by minnow's students.
  return [out, zeros('int64', [0])];
};

export const NN: Record<string, Kernel> = { LayerNormalization: layerNorm, Softmax: softmax, ReduceSum: reduceSum, Conv: conv, MaxPool: maxPool };
