import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { grad } from '../../src/autodiff/grad.js';
import { appendOptimizer, clipByGlobalNorm } from '../../src/train/optimizers.js';
import { warmupCosine } from '../../src/train/schedule.js';

/** loss = sum(w * c) for a [2, 2] weight, so that d loss / d w = c. */
function linearLoss() {
  const g = new Graph();
  const w = g.input('w', 'float32', [2, 2]);
  const c = g.input('c', 'float32', [2, 2]);
  const loss = g.op1('ReduceSum', [g.op1('Mul', [w, c])], { keepdims: 0 });
  return { g, w, c, loss, grads: grad(g, loss, [w]) };
}

describe('optimizers as graph nodes', () => {
  it('AdamW matches the reference update (decoupled decay, bias correction)', async () => {
    const { g, w, grads } = linearLoss();
    const opt = appendOptimizer(g, [w], grads, { kind: 'adamw', beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 });
    g.output(opt.nextParams.get(w)!);
    for (const s of opt.state) g.output(s.next);
    const session = await createSession(encodeModel(g));
    const w0 = [1, -2, 3, 0.5], c = [0.3, -0.1, 2, 0], lr = 0.01;
    const feeds = {
      w: Tensor.fromNumbers('float32', [2, 2], w0), c: Tensor.fromNumbers('float32', [2, 2], c),
      'opt.lr': Tensor.scalar('float32', lr),
      'opt.bias_correction1': Tensor.scalar('float32', 1 / (1 - 0.9)),
      'opt.bias_correction2': Tensor.scalar('float32', 1 / (1 - 0.999)),
      'opt.m.w': Tensor.zeros('float32', [2, 2]), 'opt.v.w': Tensor.zeros('float32', [2, 2]),
    };
    const out = await run(session, feeds);
    const next = out[opt.nextParams.get(w)!]!.toNumbers();
    w0.forEach((p, i) => {
      const m = 0.1 * c[i]!, v = 0.001 * c[i]! ** 2;
      const update = m / 0.1 / (Math.sqrt(v / 0.001) + 1e-8) + 0.1 * p;
      expect(next[i]).toBeCloseTo(p - lr * update, 6);
    });
  });

  it('SGD with momentum accumulates the velocity', async () => {
    const { g, w, grads } = linearLoss();
    const opt = appendOptimizer(g, [w], grads, { kind: 'sgd', momentum: 0.5 });
    g.output(opt.nextParams.get(w)!);
    g.output(opt.state[0]!.next);
    const session = await createSession(encodeModel(g));
    const out = await run(session, {
      w: Tensor.fromNumbers('float32', [2, 2], [1, 1, 1, 1]), c: Tensor.fromNumbers('float32', [2, 2], [1, 2, 3, 4]),
      'opt.lr': Tensor.scalar('float32', 0.1), 'opt.momentum.w': Tensor.fromNumbers('float32', [2, 2], [1, 1, 1, 1]),
    });
    // velocity = 0.5 * 1 + c; w' = 1 - 0.1 * velocity
    expect(out[opt.state[0]!.next]!.toNumbers()).toEqual([1.5, 2.5, 3.5, 4.5]);
    out[opt.nextParams.get(w)!]!.toNumbers().forEach((v, i) => expect(v).toBeCloseTo(1 - 0.1 * (0.5 + i + 1), 6));
  });

  it('clips by global norm', async () => {
    const { g, w, grads } = linearLoss();
    const clipped = clipByGlobalNorm(g, grads, 1);
    g.output(clipped.norm);
    g.output(clipped.grads.get(w)!);
    const session = await createSession(encodeModel(g));
    const out = await run(session, { w: Tensor.zeros('float32', [2, 2]), c: Tensor.fromNumbers('float32', [2, 2], [3, 0, 0, 4]) });
    expect(out[clipped.norm]!.toNumbers()[0]).toBeCloseTo(5, 5);
    const gc = out[clipped.grads.get(w)!]!.toNumbers();
    expect(gc[0]).toBeCloseTo(0.6, 5);
    expect(gc[3]).toBeCloseTo(0.8, 5);
  });
});

describe('warm-up + cosine schedule', () => {
  const cfg = { peak: 1, warmupSteps: 10, totalSteps: 110, minRatio: 0.1 };
  it('rises linearly, peaks, then decays to the floor', () => {
    expect(warmupCosine(0, cfg)).toBeCloseTo(0.1);
    expect(warmupCosine(9, cfg)).toBeCloseTo(1);
    expect(warmupCosine(10, cfg)).toBeCloseTo(1);
    expect(warmupCosine(60, cfg)).toBeCloseTo(0.55);
    expect(warmupCosine(110, cfg)).toBeCloseTo(0.1);
    expect(warmupCosine(500, cfg)).toBeCloseTo(0.1);
  });
});
