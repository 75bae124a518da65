// 2-D Conv, MaxPool and AveragePool. Spatial dims must be static (images have fixed sizes); the
// batch dim may be symbolic.
import type { Dim, Graph, Node } from '../graph.js';
import { Tensor } from '../tensor.js';
import type { OpTable } from './op.js';
import { unknownDim, type InferContext, type ShapeRule } from './shape-rule.js';
import { GradientError, gy, shapedLike } from './vjp.js';

export interface Conv2dOptions { stride?: number; pad?: number }

export function conv2d(g: Graph, x: string, w: string, b: string | undefined, options: Conv2dOptions = {}): string {
  const s = options.stride ?? 1, p = options.pad ?? 0;
  return g.op1('Conv', b ? [x, w, b] : [x, w], { strides: [s, s], pads: [p, p, p, p] });
}

export function maxPool2d(g: Graph, x: string, kernel: number, stride = kernel): string {
  // The Indices output lets the VJP route each gradient to the element that won.
  const [y] = g.op('MaxPool', [x], { kernel_shape: [kernel, kernel], strides: [stride, stride] }, { outputs: 2, name: 'maxpool' });
  return y!;
}

export function avgPool2d(g: Graph, x: string, kernel: number, stride = kernel): string {
  return g.op1('AveragePool', [x], { kernel_shape: [kernel, kernel], strides: [stride, stride] });
}

interface Geometry { kernel: number[]; strides: number[]; pads: number[] }

function geometry(node: Node, kernel: number[]): Geometry {
  if ((node.attrs.dilations as number[] | undefined)?.some((d) => d !== 1)) throw new GradientError(`${node.opType} node '${node.name}': dilations other than 1 are not differentiable here`);
  if (node.attrs.auto_pad !== undefined && node.attrs.auto_pad !== 'NOTSET') throw new GradientError(`${node.opType} node '${node.name}': auto_pad is not differentiable here; use explicit pads`);
  return {
    kernel,
    strides: (node.attrs.strides as number[] | undefined) ?? [1, 1],
    pads: (node.attrs.pads as number[] | undefined) ?? [0, 0, 0, 0],
  };
}

function staticSpatial(g: Graph, node: Node, x: string): [number, number] {
  const [, , h, w] = g.shape(x);
  if (g.rank(x) !== 4 || typeof h !== 'number' || typeof w !== 'number') {
    throw new GradientError(`${node.opType} node '${node.name}': gradients need a 4-D input with static height and width, got [${g.shape(x)}]`);
  }
  return [h, w];
}

/** output_padding that makes ConvTranspose give back exactly the forward input's size. */
function outputPadding(g: Graph, x: string, y: string, geo: Geometry): number[] {
  const inSize = g.shape(x).slice(2) as number[];
  const outSize = g.shape(y).slice(2) as number[];
  return inSize.map((n, i) => n - (geo.strides[i]! * (outSize[i]! - 1) + geo.kernel[i]! - geo.pads[i]! - geo.pads[i + 2]!));
}

function convOutDim(size: Dim, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): Dim {
  if (typeof size !== 'number') return unknownDim();
  return Math.floor((size + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** The spatial dims of a Conv or pooling output ([n, c, ...spatial]). */
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

const convShape: ShapeRule = (c) => {
  const w = c.shape(1);
  const kernel = c.attr<number[]>('kernel_shape', w.slice(2) as number[]);
  return [{ dtype: c.dtype(0), shape: [c.shape(0)[0]!, w[0]!, ...poolLike(c, kernel)] }];
};

const convTransposeShape: ShapeRule = (c) => {
  const x = c.shape(0), w = c.shape(1);
  const kernel = c.attr<number[]>('kernel_shape', w.slice(2) as number[]);
  const explicit = c.attr<number[] | undefined>('output_shape', undefined);
  const spatial = kernel.length;
  const strides = c.attr<number[]>('strides', Array(spatial).fill(1));
  const pads = c.attr<number[]>('pads', Array(2 * spatial).fill(0));
  const outPad = c.attr<number[]>('output_padding', Array(spatial).fill(0));
  const out: Dim[] = explicit ? [...explicit] : kernel.map((k, i) => {
    const d = x[2 + i]!;
    return typeof d === 'number' ? strides[i]! * (d - 1) + outPad[i]! + k - pads[i]! - pads[i + spatial]! : unknownDim();
  });
  const cout = typeof w[1] === 'number' ? (w[1] as number) * c.attr('group', 1) : unknownDim();
  return [{ dtype: c.dtype(0), shape: [x[0]!, cout, ...out] }];
};

const pooledShape = (c: InferContext): Dim[] => [c.shape(0)[0]!, c.shape(0)[1]!, ...poolLike(c, c.attr<number[]>('kernel_shape', []))];

export const convOps: OpTable = {
  Conv: {
    shape: convShape,
    vjp: (c) => {
      const { g, node } = c;
      const [x, w, b] = node.inputs as [string, string, string | undefined];
      const y = node.outputs[0]!;
      if ((node.attrs.group ?? 1) !== 1) throw new GradientError(`Conv node '${node.name}': grouped convolution is not differentiable here`);
      const [kh, kw] = g.shape(w).slice(2) as number[];
      const geo = geometry(node, [kh!, kw!]);
      staticSpatial(g, node, x);
      const d = gy(c);
      let gx: string | undefined, gw: string | undefined, gb: string | undefined;
      if (c.needs[0]) {
        gx = g.op1('ConvTranspose', [d, w], { strides: geo.strides, pads: geo.pads, output_padding: outputPadding(g, x, y, geo) });
      }
      if (c.needs[1]) {
        // dW[co,ci,i,j] = sum_{n,h,w} dY[n,co,h,w] X[n,ci,s*h+i-p,s*w+j-p]: a convolution of X (channels
        // as batch) with dY (channels as filters, batch as input channels), dilated by the stride.
        const xT = g.op1('Transpose', [x], { perm: [1, 0, 2, 3] });
        const dT = g.op1('Transpose', [d], { perm: [1, 0, 2, 3] });
        let corr = g.op1('Conv', [xT, dT], { pads: geo.pads, dilations: geo.strides });
        const [, , ch, cw] = g.shape(corr) as number[];
        if (ch !== kh || cw !== kw) corr = g.op1('Slice', [corr, g.int64s([0, 0]), g.int64s([kh!, kw!]), g.int64s([2, 3])]);
        gw = g.op1('Transpose', [corr], { perm: [1, 0, 2, 3] });
      }
      if (b && c.needs[2]) gb = g.op1('ReduceSum', [d, g.int64s([0, 2, 3])], { keepdims: 0 });
      return [gx, gw, gb];
    },
  },
  MaxPool: {
    shape: (c) => { const shape = pooledShape(c); return [{ dtype: c.dtype(0), shape }, { dtype: 'int64', shape }]; },
    vjp: (c) => {
      const { g, node } = c;
      const x = node.inputs[0]!;
      const indices = node.outputs[1];
      if (!indices) throw new GradientError(`MaxPool node '${node.name}': build it with its Indices output to differentiate it`);
      if ((node.attrs.storage_order ?? 0) !== 0) throw new GradientError(`MaxPool node '${node.name}': only storage_order 0 is differentiable`);
      // Indices address the flattened input (batch and channel included), so one scatter-add suffices.
      const flatLen = g.op1('Reshape', [g.op1('Size', [x]), g.int64s([1])]);
      const zeros = g.op1('ConstantOfShape', [flatLen], { value: Tensor.fromNumbers(g.dtype(x), [1], [0]) });
      const flat = g.op1('ScatterElements', [zeros, g.op1('Reshape', [indices, g.int64s([-1])]), g.op1('Reshape', [gy(c), g.int64s([-1])])], { axis: 0, reduction: 'add' });
      return [shapedLike(g, g.op1('Reshape', [flat, g.op1('Shape', [x])]), x)];
    },
  },
  AveragePool: {
    shape: (c) => [{ dtype: c.dtype(0), shape: pooledShape(c) }],
    vjp: (c) => {
      const { g, node } = c;
      const x = node.inputs[0]!;
      const kernel = node.attrs.kernel_shape as number[];
      const geo = geometry(node, kernel);
      staticSpatial(g, node, x);
      if (geo.pads.some((p) => p !== 0) && node.attrs.count_include_pad !== 1) {
        throw new GradientError(`AveragePool node '${node.name}': padding is only differentiable with count_include_pad=1`);
      }
      const channels = g.shape(x)[1];
      if (typeof channels !== 'number') throw new GradientError(`AveragePool node '${node.name}': the channel dim must be static`);
      const area = kernel[0]! * kernel[1]!;
      const ones = Tensor.fromNumbers(g.dtype(x), [channels, 1, ...kernel], new Array(channels * area).fill(1 / area));
      // Spread each output gradient evenly over its window: a depthwise transposed convolution.
      const gx = g.op1('ConvTranspose', [gy(c), g.constant(ones, 'avgpool_spread')], {
        group: channels, strides: geo.strides, pads: geo.pads, output_padding: outputPadding(g, x, node.outputs[0]!, geo),
      });
      return [gx];
    },
  },
  ConvTranspose: { shape: convTransposeShape },
  GlobalAveragePool: { shape: (c) => [{ dtype: c.dtype(0), shape: c.shape(0).map((d, i) => (i < 2 ? d : 1)) }] },
};
