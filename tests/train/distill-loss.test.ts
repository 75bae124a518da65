import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { grad } from '../../src/autodiff/grad.js';
import { distillationLoss, TEACHER_INPUTS } from '../../src/train/distill-loss.js';
import { logSoftmaxRows, topKRows } from '../../teacher/soft-labels.js';
import { Rng } from '../../src/format/rng.js';

const ROWS = 3, V = 6;
const rng = new Rng(3);
const studentLogits = Float32Array.from({ length: ROWS * V }, () => rng.normal());
const teacherLogits = Float32Array.from({ length: ROWS * V }, () => 2 * rng.normal());
const labels = [1, 4, 0];

function jsLoss(alpha: number, T: number, topK: number): number {
  const q = logSoftmaxRows(studentLogits, ROWS, V, T);
  const p = logSoftmaxRows(teacherLogits, ROWS, V, T);
  const q1 = logSoftmaxRows(studentLogits, ROWS, V, 1);
  let kl = 0, ce = 0;
  for (let r = 0; r < ROWS; r++) {
    if (topK === 0) {
      for (let j = 0; j < V; j++) kl += Math.exp(p[r * V + j]!) * (p[r * V + j]! - q[r * V + j]!);
    } else {
      const { indices, tail } = topKRows(p.subarray(r * V, (r + 1) * V), 1, V, topK);
      let qTop = 0;
      for (const j of indices) { kl += Math.exp(p[r * V + j]!) * (p[r * V + j]! - q[r * V + j]!); qTop += Math.exp(q[r * V + j]!); }
      kl += tail[0]! * (Math.log(Math.max(tail[0]!, 1e-7)) - Math.log(Math.max(1 - qTop, 1e-7)));
    }
    ce -= q1[r * V + labels[r]!]!;
  }
  return alpha * T * T * (kl / ROWS) + (1 - alpha) * (ce / ROWS);
}

async function graphLoss(alpha: number, T: number, topK: number) {
  const g = new Graph();
  const logits = g.input('logits', 'float32', ['batch', V]);
  const lab = g.input('labels', 'int64', ['batch']);
  const loss = distillationLoss(g, logits, lab, { alpha, temperature: T, topK, hardLabels: true });
  const dl = grad(g, loss, [logits]).get(logits)!;
  g.output(loss);
  g.output(dl);
  const session = await createSession(encodeModel(g));
  const p = logSoftmaxRows(teacherLogits, ROWS, V, T);
  const feeds: Record<string, Tensor> = { labels: Tensor.fromNumbers('int64', [ROWS], labels) };
  if (topK === 0) feeds[TEACHER_INPUTS.logProbs] = new Tensor('float32', [ROWS, V], p);
  else {
    const { indices, values, tail } = topKRows(p, ROWS, V, topK);
    feeds[TEACHER_INPUTS.logProbs] = new Tensor('float32', [ROWS, topK], values);
    feeds[TEACHER_INPUTS.indices] = Tensor.fromNumbers('int64', [ROWS, topK], Array.from(indices));
    feeds[TEACHER_INPUTS.tailMass] = new Tensor('float32', [ROWS], tail);
  }
  const at = async (x: Float32Array) => run(session, { ...feeds, logits: new Tensor('float32', [ROWS, V], x) });
  return { at, loss, dl };
}

describe('distillation loss', () => {
  for (const [alpha, T, k] of [[0.5, 2, 0], [0.7, 3, 2], [1, 1, 3]] as const) {
    it(`alpha ${alpha}, T ${T}, ${k ? `top-${k} + tail` : 'full'}: value and gradient`, async () => {
      const { at, loss, dl } = await graphLoss(alpha, T, k);
      const out = await at(studentLogits);
      expect(Number(out[loss]!.data[0])).toBeCloseTo(jsLoss(alpha, T, k), 4);
      const analytic = out[dl]!.toNumbers();
      const eps = 1e-2;
      for (let i = 0; i < studentLogits.length; i++) {
        const plus = new Float32Array(studentLogits); plus[i]! += eps;
        const minus = new Float32Array(studentLogits); minus[i]! -= eps;
        const numeric = (Number((await at(plus))[loss]!.data[0]) - Number((await at(minus))[loss]!.data[0])) / (2 * eps);
        expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
      }
    });
  }
});
