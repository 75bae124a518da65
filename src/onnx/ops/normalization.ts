// LayerNormalization (opset 17, https://onnx.ai/onnx/operators/onnx__LayerNormalization.html):
// normalizes over axes [axis, rank). The forward builder asks for Mean and InvStdDev so that the
// VJP reuses them; they are float32 (stash_type 1), so float64 graphs recompute them exactly.
import type { Graph } from '../graph.js';
import type { DType } from '../tensor.js';
import { f, FloatAttr } from '../attrs.js';
import type { OpTable } from './op.js';
import { normAxis, type ShapeRule } from './shape-rule.js';
import { add, gy, mul, scalarLike, sub } from './vjp.js';

export function layerNorm(g: Graph, x: string, scale: string, bias: string, epsilon = 1e-5, axis = -1): string {
  const [y] = g.op('LayerNormalization', [x, scale, bias], { axis, epsilon: f(epsilon) }, { outputs: 3, name: 'layernorm' });
  return y!;
}

/** Y like X; Mean and InvStdDev keep the leading dims and are 1 over the normalized ones. */
const layerNormShape: ShapeRule = (c) => {
  const x = c.shape(0);
  const axis = normAxis(c.attr('axis', -1), x.length);
  const stats = x.map((d, i) => (i < axis ? d : 1));
  const stash: DType = c.attr('stash_type', 1) === 11 ? 'float64' : 'float32';
  return [c.type(0), { dtype: stash, shape: stats }, { dtype: stash, shape: stats }];
};

export const normalizationOps: OpTable = {
  LayerNormalization: {
    shape: layerNormShape,
    vjp: (c) => {
      const { g, node } = c;
      const [x, scale, bias] = node.inputs as [string, string, string | undefined];
      const rank = g.rank(x);
      const axis = normAxis(typeof node.attrs.axis === 'number' ? node.attrs.axis : -1, rank);
      const normAxes = g.int64s(Array.from({ length: rank - axis }, (_, i) => axis + i));
      const leadAxes = Array.from({ length: axis }, (_, i) => i);
      const eps = node.attrs.epsilon instanceof FloatAttr ? node.attrs.epsilon.value : 1e-5;
      const d = gy(c);

      let mean: string, invStd: string;
      const [, meanOut, invStdOut] = node.outputs;
      if (g.dtype(x) === 'float32' && meanOut && invStdOut) {
        mean = meanOut; invStd = invStdOut;
      } else {
        mean = g.op1('ReduceMean', [x, normAxes], { keepdims: 1 });
        const centered = sub(g, x, mean);
        const variance = g.op1('ReduceMean', [mul(g, centered, centered), normAxes], { keepdims: 1 });
        invStd = g.op1('Reciprocal', [g.op1('Sqrt', [add(g, variance, scalarLike(g, eps, x))])]);
      }
      const xhat = mul(g, sub(g, x, mean), invStd);
      const sumLead = (v: string) => (leadAxes.length ? g.op1('ReduceSum', [v, g.int64s(leadAxes)], { keepdims: 0 }) : v);

      let gx: string | undefined;
      if (c.needs[0]) {
        const dxhat = mul(g, d, scale);
        const m1 = g.op1('ReduceMean', [dxhat, normAxes], { keepdims: 1 });
        const m2 = g.op1('ReduceMean', [mul(g, dxhat, xhat), normAxes], { keepdims: 1 });
        gx = mul(g, invStd, sub(g, sub(g, dxhat, m1), mul(g, xhat, m2)));
      }
      const gScale = c.needs[1] ? sumLead(mul(g, d, xhat)) : undefined;
      const gBias = bias && c.needs[2] ? sumLead(d) : undefined;
      return [gx, gScale, gBias];
    },
  },
};
