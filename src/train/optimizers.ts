// Optimizers emitted as graph nodes, so that forward, backward, clipping and the update are one
// session.run. Per-step scalars (learning rate, bias corrections) are fed in; state tensors are
// inputs and outputs of the step.
import type { Graph } from '../onnx/graph.js';
import { Tensor } from '../onnx/tensor.js';

export interface AdamWConfig { kind: 'adamw'; beta1?: number; beta2?: number; eps?: number; weightDecay?: number }
export interface SgdConfig { kind: 'sgd'; momentum?: number; weightDecay?: number }
export type OptimizerConfig = AdamWConfig | SgdConfig;

/** A tensor the optimizer carries from step to step. */
export interface StateSlot { name: string; next: string; param: string; init: Tensor }

export interface OptimizerGraph {
  /** Scalar float inputs fed every step, by name. */
  scalars: string[];
  /** param -> name of its updated value. */
  nextParams: Map<string, string>;
  state: StateSlot[];
}

/** Only matrices (and embedding tables) are decayed; biases and norm gains are not. */
function decays(g: Graph, param: string): boolean {
  return g.rank(param) >= 2;
}

export function appendOptimizer(g: Graph, params: string[], grads: Map<string, string>, config: OptimizerConfig): OptimizerGraph {
  const lr = g.input('opt.lr', 'float32', []);
  const k = (v: number) => g.scalar(v, 'float32');
  const state: StateSlot[] = [];
  const nextParams = new Map<string, string>();
  const zerosFor = (p: string) => Tensor.zeros('float32', g.shape(p) as number[]);

  if (config.kind === 'adamw') {
    const b1 = config.beta1 ?? 0.9, b2 = config.beta2 ?? 0.999, eps = config.eps ?? 1e-8, wd = config.weightDecay ?? 0.01;
    // 1 / (1 - beta^t), computed on the host where t is known.
    const bc1 = g.input('opt.bias_correction1', 'float32', []);
    const bc2 = g.input('opt.bias_correction2', 'float32', []);
    for (const p of params) {
      const grad = grads.get(p)!;
      const m = g.input(`opt.m.${p}`, 'float32', g.shape(p));
      const v = g.input(`opt.v.${p}`, 'float32', g.shape(p));
      const m2 = g.op1('Add', [g.op1('Mul', [m, k(b1)]), g.op1('Mul', [grad, k(1 - b1)])]);
      const v2 = g.op1('Add', [g.op1('Mul', [v, k(b2)]), g.op1('Mul', [g.op1('Mul', [grad, grad]), k(1 - b2)])]);
      const denom = g.op1('Add', [g.op1('Sqrt', [g.op1('Mul', [v2, bc2])]), k(eps)]);
      let update = g.op1('Div', [g.op1('Mul', [m2, bc1]), denom]);
      if (wd > 0 && decays(g, p)) update = g.op1('Add', [update, g.op1('Mul', [p, k(wd)])]);
      nextParams.set(p, g.op1('Sub', [p, g.op1('Mul', [update, lr])], {}, { name: `next.${p}` }));
      state.push({ name: m, next: m2, param: p, init: zerosFor(p) }, { name: v, next: v2, param: p, init: zerosFor(p) });
    }
    return { scalars: [lr, bc1, bc2], nextParams, state };
  }

  const mu = config.momentum ?? 0.9, wd = config.weightDecay ?? 0;
  for (const p of params) {
    let grad = grads.get(p)!;
    if (wd > 0 && decays(g, p)) grad = g.op1('Add', [grad, g.op1('Mul', [p, k(wd)])]);
    let step = grad;
    if (mu > 0) {
      const buf = g.input(`opt.momentum.${p}`, 'float32', g.shape(p));
      step = g.op1('Add', [g.op1('Mul', [buf, k(mu)]), grad]);
      state.push({ name: buf, next: step, param: p, init: zerosFor(p) });
    }
    nextParams.set(p, g.op1('Sub', [p, g.op1('Mul', [step, lr])], {}, { name: `next.${p}` }));
  }
  return { scalars: [lr], nextParams, state };
}

/** Scales all gradients by min(1, maxNorm / ||g||) and returns them with the global norm. */
export function clipByGlobalNorm(g: Graph, grads: Map<string, string>, maxNorm: number): { grads: Map<string, string>; norm: string } {
  const squares = [...grads.values()].map((x) => g.op1('ReduceSumSquare', [x], { keepdims: 0 }));
  const norm = g.op1('Sqrt', [squares.length === 1 ? squares[0]! : g.op1('Sum', squares)], {}, { name: 'grad_norm' });
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return { grads, norm };
  const scale = g.op1('Min', [g.scalar(1, 'float32'), g.op1('Div', [g.scalar(maxNorm, 'float32'), g.op1('Add', [norm, g.scalar(1e-6, 'float32')])])]);
  const clipped = new Map([...grads].map(([p, x]) => [p, g.op1('Mul', [x, scale])]));
  return { grads: clipped, norm };
}
