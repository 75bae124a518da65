// Elementwise ops with broadcasting (https://onnx.ai/onnx/repo-docs/Broadcasting.html): builders,
// shape rules and VJPs. Gradients of broadcast inputs are summed back with unbroadcast().
import type { Graph } from '../graph.js';
import { Tensor, ONNX_DATA_TYPE, dtypeFromOnnx } from '../tensor.js';
import type { OpTable } from './op.js';
import { broadcast, broadcastShapes, same, type ShapeRule } from './shape-rule.js';
import { GradientError, add, cast, div, gy, mul, neg, scalarLike, sub, unbroadcast, type VjpContext } from './vjp.js';

export const pow = (g: Graph, x: string, exponent: number) => g.op1('Pow', [x, g.scalar(exponent, g.dtype(x))]);
export const sqrt = (g: Graph, x: string) => g.op1('Sqrt', [x]);
export const exp = (g: Graph, x: string) => g.op1('Exp', [x]);
export const log = (g: Graph, x: string) => g.op1('Log', [x]);
export const tanh = (g: Graph, x: string) => g.op1('Tanh', [x]);
export const sigmoid = (g: Graph, x: string) => g.op1('Sigmoid', [x]);
export const relu = (g: Graph, x: string) => g.op1('Relu', [x]);
export const erf = (g: Graph, x: string) => g.op1('Erf', [x]);
export const gelu = (g: Graph, x: string, approximate: 'none' | 'tanh' = 'none') => g.op1('Gelu', [x], { approximate });
export const where = (g: Graph, cond: string, a: string, b: string) => g.op1('Where', [cond, a, b]);

/** Dropout in training mode with a fixed seed; returns the output (the mask feeds the VJP). */
export function dropout(g: Graph, x: string, ratio: number, seed: number): string {
  const [y] = g.op('Dropout', [x, g.scalar(ratio, g.dtype(x)), g.constant(Tensor.fromNumbers('bool', [], [1]))], { seed }, { outputs: 2 });
  return y!;
}

function pickVjp(c: VjpContext, compare: 'GreaterOrEqual' | 'LessOrEqual'): (string | undefined)[] {
  const { g, node } = c;
  if (node.inputs.length !== 2) throw new GradientError(`${node.opType} node '${node.name}': only two inputs are differentiable`);
  const [a, b] = node.inputs as [string, string];
  const d = gy(c);
  const first = g.op1(compare, [a, b]);
  const zero = scalarLike(g, 0, d);
  return [
    c.needs[0] ? unbroadcast(g, g.op1('Where', [first, d, zero]), a) : undefined,
    c.needs[1] ? unbroadcast(g, g.op1('Where', [first, zero, d]), b) : undefined,
  ];
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_TANH_C = 0.044715;

const compare: ShapeRule = (c) => [{ dtype: 'bool', shape: broadcast(c)[0]!.shape }];

export const elementwiseOps: OpTable = {
  Add: { shape: broadcast, vjp: (c) => { const [a, b] = c.node.inputs as [string, string]; const d = gy(c); return [unbroadcast(c.g, d, a), unbroadcast(c.g, d, b)]; } },
  Sub: {
    shape: broadcast,
    vjp: (c) => {
      const [a, b] = c.node.inputs as [string, string]; const d = gy(c);
      return [unbroadcast(c.g, d, a), c.needs[1] ? unbroadcast(c.g, neg(c.g, d), b) : undefined];
    },
  },
  Mul: {
    shape: broadcast,
    vjp: (c) => {
      const { g } = c; const [a, b] = c.node.inputs as [string, string]; const d = gy(c);
      return [c.needs[0] ? unbroadcast(g, mul(g, d, b), a) : undefined, c.needs[1] ? unbroadcast(g, mul(g, d, a), b) : undefined];
    },
  },
  Div: {
    shape: broadcast,
    vjp: (c) => {
      const { g } = c; const [a, b] = c.node.inputs as [string, string]; const d = gy(c); const y = c.node.outputs[0]!;
      // d(a/b)/db = -a/b^2 = -y/b
      return [c.needs[0] ? unbroadcast(g, div(g, d, b), a) : undefined, c.needs[1] ? unbroadcast(g, neg(g, mul(g, d, div(g, y, b))), b) : undefined];
    },
  },
  Neg: { shape: same, vjp: (c) => [neg(c.g, gy(c))] },
  Pow: {
    shape: broadcast,
    vjp: (c) => {
      const { g } = c; const [x, e] = c.node.inputs as [string, string];
      const exponent = g.constants.get(e);
      if (!exponent || exponent.size !== 1) throw new GradientError(`Pow node '${c.node.name}': only a constant scalar exponent is differentiable`);
      if (c.needs[1]) throw new GradientError(`Pow node '${c.node.name}': no gradient w.r.t. the exponent`);
      const p = exponent.toNumbers()[0]!;
      const dydx = mul(g, scalarLike(g, p, x), g.op1('Pow', [x, scalarLike(g, p - 1, x)]));
      return [unbroadcast(g, mul(g, gy(c), dydx), x), undefined];
    },
  },
  Sqrt: { shape: same, vjp: (c) => [div(c.g, gy(c), mul(c.g, scalarLike(c.g, 2, c.node.outputs[0]!), c.node.outputs[0]!))] },
  Exp: { shape: same, vjp: (c) => [mul(c.g, gy(c), c.node.outputs[0]!)] },
  Log: { shape: same, vjp: (c) => [div(c.g, gy(c), c.node.inputs[0]!)] },
  Tanh: { shape: same, vjp: (c) => { const { g } = c; const y = c.node.outputs[0]!; return [mul(g, gy(c), sub(g, scalarLike(g, 1, y), mul(g, y, y)))]; } },
  Sigmoid: { shape: same, vjp: (c) => { const { g } = c; const y = c.node.outputs[0]!; return [mul(g, gy(c), mul(g, y, sub(g, scalarLike(g, 1, y), y)))]; } },
  Relu: {
    shape: same,
    vjp: (c) => {
      const { g } = c; const x = c.node.inputs[0]!;
      return [g.op1('Where', [g.op1('Greater', [x, scalarLike(g, 0, x)]), gy(c), scalarLike(g, 0, x)])];
    },
  },
  Erf: {
    shape: same,
    vjp: (c) => {
      const { g } = c; const x = c.node.inputs[0]!;
      return [mul(g, gy(c), mul(g, scalarLike(g, 2 / Math.sqrt(Math.PI), x), g.op1('Exp', [neg(g, mul(g, x, x))])))];
    },
  },
  Gelu: {
    shape: same,
    vjp: (c) => {
      const { g } = c; const x = c.node.inputs[0]!;
      const k = (v: number) => scalarLike(g, v, x);
      const approx = c.node.attrs.approximate ?? 'none';
      let dydx: string;
      if (approx === 'tanh') {
        // y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + c x^3)
        const x2 = mul(g, x, x);
        const u = mul(g, k(SQRT_2_OVER_PI), add(g, x, mul(g, k(GELU_TANH_C), mul(g, x2, x))));
        const t = g.op1('Tanh', [u]);
        const du = mul(g, k(SQRT_2_OVER_PI), add(g, k(1), mul(g, k(3 * GELU_TANH_C), x2)));
        dydx = add(g, mul(g, k(0.5), add(g, k(1), t)), mul(g, mul(g, k(0.5), x), mul(g, sub(g, k(1), mul(g, t, t)), du)));
      } else {
        // y = x Phi(x): dy/dx = Phi(x) + x phi(x)
        const cdf = mul(g, k(0.5), add(g, k(1), g.op1('Erf', [mul(g, x, k(Math.SQRT1_2))])));
        const pdf = mul(g, k(1 / Math.sqrt(2 * Math.PI)), g.op1('Exp', [mul(g, k(-0.5), mul(g, x, x))]));
        dydx = add(g, cdf, mul(g, x, pdf));
      }
      return [mul(g, gy(c), dydx)];
    },
  },
  // Max/Min of two inputs: the gradient goes to the one selected (the first on ties).
  Max: { shape: broadcast, vjp: (c) => pickVjp(c, 'GreaterOrEqual') },
  Min: { shape: broadcast, vjp: (c) => pickVjp(c, 'LessOrEqual') },
  Identity: { shape: same, vjp: (c) => [gy(c)] },
  Cast: { shape: (c) => [{ dtype: dtypeFromOnnx(c.attr('to', 1)), shape: c.shape(0) }], vjp: (c) => [cast(c.g, gy(c), c.g.dtype(c.node.inputs[0]!))] },
  Where: {
    shape: (c) => [{ dtype: c.dtype(1), shape: broadcastShapes([c.shape(0), c.shape(1), c.shape(2)], 'Where') }],
    vjp: (c) => {
      const { g } = c; const [cond, a, b] = c.node.inputs as [string, string, string]; const d = gy(c);
      const zero = scalarLike(g, 0, d);
      return [
        undefined,
        c.needs[1] ? unbroadcast(g, g.op1('Where', [cond, d, zero]), a) : undefined,
        c.needs[2] ? unbroadcast(g, g.op1('Where', [cond, zero, d]), b) : undefined,
      ];
    },
  },
  Dropout: {
    shape: (c) => [c.type(0), { dtype: 'bool', shape: c.shape(0) }],
    vjp: (c) => {
      const { g } = c; const [x, ratioName, trainingName] = c.node.inputs;
      const training = trainingName ? g.constants.get(trainingName)?.toNumbers()[0] === 1 : false;
      if (!training) return [gy(c)];
      const ratio = ratioName ? (g.constants.get(ratioName)?.toNumbers()[0] ?? 0.5) : 0.5;
      const mask = g.op1('Cast', [c.node.outputs[1]!], { to: ONNX_DATA_TYPE[g.dtype(x!)] });
      return [mul(g, gy(c), mul(g, mask, scalarLike(g, 1 / (1 - ratio), x!)))];
    },
  },
  Abs: { shape: same }, Reciprocal: { shape: same }, Clip: { shape: same },
  Sum: { shape: broadcast }, Mod: { shape: broadcast },
  CastLike: { shape: (c) => [{ dtype: c.dtype(1), shape: c.shape(0) }] },
  // Piecewise constant, or boolean: no gradient flows through these.
  Floor: { shape: same, vjp: 'none' }, Ceil: { shape: same, vjp: 'none' }, Round: { shape: same, vjp: 'none' }, Sign: { shape: same, vjp: 'none' },
  Equal: { shape: compare, vjp: 'none' }, Greater: { shape: compare, vjp: 'none' }, Less: { shape: compare, vjp: 'none' },
  GreaterOrEqual: { shape: compare, vjp: 'none' }, LessOrEqual: { shape: compare, vjp: 'none' },
  And: { shape: compare, vjp: 'none' }, Or: { shape: compare, vjp: 'none' }, Not: { shape: same, vjp: 'none' },
  IsNaN: { shape: (c) => [{ dtype: 'bool', shape: c.shape(0) }], vjp: 'none' },
};
