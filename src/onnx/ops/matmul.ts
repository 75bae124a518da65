// MatMul (numpy semantics, batch dims broadcast) and Gemm.
import type { Dim, Graph } from '../graph.js';
import { FloatAttr, f } from '../attrs.js';
import type { OpTable } from './op.js';
import { broadcastShapes, type InferContext } from './shape-rule.js';
import { GradientError, gy, scalarLike, mul, unbroadcast } from './vjp.js';

export const matmul = (g: Graph, a: string, b: string) => g.op1('MatMul', [a, b]);

function swapLast(g: Graph, x: string): string {
  const r = g.rank(x);
  const perm = Array.from({ length: r }, (_, i) => i);
  [perm[r - 1], perm[r - 2]] = [perm[r - 2]!, perm[r - 1]!];
  return g.op1('Transpose', [x], { perm });
}

/** The output shape of a MatMul (or MatMulInteger) of shapes a and b. */
export function matmulShape(a: Dim[], b: Dim[], c: InferContext): Dim[] {
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

export const matmulOps: OpTable = {
  MatMul: {
    shape: (c) => [{ dtype: c.dtype(0), shape: matmulShape(c.shape(0), c.shape(1), c) }],
    vjp: (c) => {
      const { g } = c; const [a, b] = c.node.inputs as [string, string]; const d = gy(c);
      if (g.rank(a) < 2 || g.rank(b) < 2) throw new GradientError(`MatMul node '${c.node.name}': gradients need inputs of rank >= 2`);
      let ga: string | undefined, gb: string | undefined;
      if (c.needs[0]) ga = unbroadcast(g, g.op1('MatMul', [d, swapLast(g, b)]), a);
      if (c.needs[1]) {
        const [k, n] = g.shape(b).slice(-2);
        if (g.rank(b) === 2 && g.rank(a) > 2 && typeof k === 'number' && typeof n === 'number') {
          // A weight shared across the batch: fold the batch dims into one GEMM instead of a batched
          // product followed by a reduction.
          const a2 = g.op1('Reshape', [a, g.int64s([-1, k])]);
          const d2 = g.op1('Reshape', [d, g.int64s([-1, n])]);
          gb = g.op1('Gemm', [a2, d2], { transA: 1 });
        } else {
          gb = unbroadcast(g, g.op1('MatMul', [swapLast(g, a), d]), b);
        }
      }
      return [ga, gb];
    },
  },
  Gemm: {
    shape: (c) => {
      const a = c.shape(0), b = c.shape(1);
      return [{ dtype: c.dtype(0), shape: [c.attr('transA', 0) ? a[1]! : a[0]!, c.attr('transB', 0) ? b[0]! : b[1]!] }];
    },
    vjp: (c) => {
      const { g, node } = c; const [a, b, cIn] = node.inputs as [string, string, string | undefined]; const d = gy(c);
      const alphaAttr = node.attrs.alpha, betaAttr = node.attrs.beta;
      const alpha = f(alphaAttr instanceof FloatAttr ? alphaAttr.value : 1);
      const beta = betaAttr instanceof FloatAttr ? betaAttr.value : 1;
      const tA = node.attrs.transA === 1, tB = node.attrs.transB === 1;
      const ga = !c.needs[0] ? undefined : tA
        ? g.op1('Gemm', [b, d], { alpha, transA: tB ? 1 : 0, transB: 1 })
        : g.op1('Gemm', [d, b], { alpha, transB: tB ? 0 : 1 });
      const gb = !c.needs[1] ? undefined : tB
        ? g.op1('Gemm', [d, a], { alpha, transA: 1, transB: tA ? 1 : 0 })
        : g.op1('Gemm', [a, d], { alpha, transA: tA ? 0 : 1 });
      let gc: string | undefined;
      if (cIn && c.needs[2]) {
        gc = unbroadcast(g, d, cIn);
        if (beta !== 1) gc = mul(g, gc, scalarLike(g, beta, d));
      }
      return [ga, gb, gc];
    },
  },
};
