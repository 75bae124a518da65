// The contract every gradient rule (VJP) follows, and helpers the rules share.
import type { Graph, Node } from '../graph.js';
import { Tensor, ONNX_DATA_TYPE, type DType } from '../tensor.js';
import { normAxis } from './shape-rule.js';

export interface VjpContext {
  g: Graph;
  node: Node;
  /** Gradient of the loss w.r.t. each output of the node (undefined where none flows back). */
  gradOutputs: (string | undefined)[];
  /** Which inputs the caller needs a gradient for. */
  needs: boolean[];
}

/** Returns the gradient w.r.t. each input, or undefined where the input is not differentiable. */
export type Vjp = (ctx: VjpContext) => (string | undefined)[];

export class GradientError extends Error {
  override name = 'GradientError';
}

/** The gradient of output 0, which every rule here needs. */
export function gy(ctx: VjpContext): string {
  const grad = ctx.gradOutputs[0];
  if (!grad) throw new GradientError(`${ctx.node.opType} node '${ctx.node.name}': no gradient reaches its first output`);
  return grad;
}

export function scalarLike(g: Graph, value: number, like: string): string {
  return g.scalar(value, g.dtype(like));
}

/**
 * Records that `value`, whose shape came from a run-time Shape op, has exactly `ref`'s static type;
 * inference alone would only know its rank.
 */
export function shapedLike(g: Graph, value: string, ref: string): string {
  const t = g.type(ref);
  g.types.set(value, { dtype: g.dtype(value), shape: [...t.shape] });
  return value;
}

export function zerosLike(g: Graph, x: string): string {
  return shapedLike(g, g.op1('ConstantOfShape', [g.op1('Shape', [x])], { value: Tensor.fromNumbers(g.dtype(x), [1], [0]) }, { name: 'zeros' }), x);
}

export function cast(g: Graph, x: string, dtype: DType): string {
  return g.dtype(x) === dtype ? x : g.op1('Cast', [x], { to: ONNX_DATA_TYPE[dtype] });
}

/** One dim of x's run-time shape, as an int64 tensor of shape [1]. */
export function dimOf(g: Graph, x: string, axis: number): string {
  const a = normAxis(axis, g.rank(x));
  return g.op1('Shape', [x], { start: a, end: a + 1 });
}

/**
 * Sums a gradient over the axes along which `input` was broadcast to produce it. An axis counts as
 * broadcast when the input lacks it (leading axes) or has it statically equal to 1 while the
 * gradient's is not.
 */
export function unbroadcast(g: Graph, grad: string, input: string): string {
  const gs = g.shape(grad), xs = g.shape(input);
  const lead = gs.length - xs.length;
  const axes: number[] = [];
  for (let i = 0; i < gs.length; i++) {
    if (i < lead) axes.push(i);
    else if (xs[i - lead] === 1 && gs[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return grad;
  let out = g.op1('ReduceSum', [grad, g.int64s(axes)], { keepdims: 1 }, { name: 'unbroadcast' });
  if (lead > 0) out = g.op1('Squeeze', [out, g.int64s(Array.from({ length: lead }, (_, i) => i))]);
  return out;
}

export const neg = (g: Graph, x: string) => g.op1('Neg', [x]);
export const add = (g: Graph, a: string, b: string) => g.op1('Add', [a, b]);
export const sub = (g: Graph, a: string, b: string) => g.op1('Sub', [a, b]);
export const mul = (g: Graph, a: string, b: string) => g.op1('Mul', [a, b]);
export const div = (g: Graph, a: string, b: string) => g.op1('Div', [a, b]);
