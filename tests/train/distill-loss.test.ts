import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { grad } from '../../src/autodiff/grad.js';
import { distillationLoss, EMPTY_SLOT, TEACHER_INPUTS } from '../../src/train/distill-loss.js';
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

describe('distillation loss with empty top-k slots (a pruned vocabulary)', () => {
  it('slots holding no token add nothing: top 3 in 5 slots gives the loss and gradient of top 3', async () => {
    const p = logSoftmaxRows(teacherLogits, ROWS, V, 2);
    const { indices, values, tail } = topKRows(p, ROWS, V, 3);
    async function lossAt(k: number) {
      const g = new Graph();
      const logits = g.input('logits', 'float32', ['batch', V]);
      const loss = distillationLoss(g, logits, g.input('labels', 'int64', ['batch']), { alpha: 0.7, temperature: 2, topK: k, hardLabels: true });
      const dl = grad(g, loss, [logits]).get(logits)!;
      g.output(loss);
      g.output(dl);
      const session = await createSession(encodeModel(g));
      // Empty slots point anywhere, even at a token already in the top 3.
      const pad = (a: ArrayLike<number>, fill: number) => Array.from({ length: ROWS * k }, (_, i) => (i % k < 3 ? a[Math.floor(i / k) * 3 + (i % k)]! : fill));
      const out = await run(session, {
        logits: new Tensor('float32', [ROWS, V], studentLogits), labels: Tensor.fromNumbers('int64', [ROWS], labels),
        [TEACHER_INPUTS.logProbs]: new Tensor('float32', [ROWS, k], Float32Array.from(pad(values, EMPTY_SLOT))),
        [TEACHER_INPUTS.indices]: Tensor.fromNumbers('int64', [ROWS, k], pad(indices, indices[0]!)),
        [TEACHER_INPUTS.tailMass]: new Tensor('float32', [ROWS], tail),
      });
      return { loss: Number(out[loss]!.data[0]), grad: out[dl]!.toNumbers() };
    }
    const [three, five] = [await lossAt(3), await lossAt(5)];
    expect(five.loss).toBeCloseTo(three.loss, 6);
    five.grad.forEach((v, i) => expect(v).toBeCloseTo(three.grad[i]!, 6));
  });
});

describe('distillation loss with unlabelled rows', () => {
  // Row 1 has no label: it adds to the soft term, and the hard term averages over rows 0 and 2.
  const partial = [1, -100, 0];

  async function lossAndGrad(rowLabels: number[], x: Float32Array, alpha: number) {
    const g = new Graph();
    const logits = g.input('logits', 'float32', ['batch', V]);
    const lab = g.input('labels', 'int64', ['batch']);
    const loss = distillationLoss(g, logits, lab, { alpha, temperature: 2, topK: 0, hardLabels: true, ignoreLabel: -100 });
    const dl = grad(g, loss, [logits]).get(logits)!;
    g.output(loss); g.output(dl);
    const session = await createSession(encodeModel(g));
    const out = await run(session, {
      labels: Tensor.fromNumbers('int64', [rowLabels.length], rowLabels), logits: new Tensor('float32', [rowLabels.length, V], x),
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', [rowLabels.length, V], logSoftmaxRows(teacherLogits.subarray(0, rowLabels.length * V), rowLabels.length, V, 2)),
    });
    return { loss: Number(out[loss]!.data[0]), grad: out[dl]!.toNumbers() };
  }

  it('averages the hard loss over labelled rows only, and matches finite differences', async () => {
    const q1 = logSoftmaxRows(studentLogits, ROWS, V, 1);
    const hard = -(q1[0 * V + 1]! + q1[2 * V + 0]!) / 2;
    const softOnly = (await lossAndGrad(partial, studentLogits, 1)).loss;
    const { loss, grad: analytic } = await lossAndGrad(partial, studentLogits, 0.5);
    expect(loss).toBeCloseTo(0.5 * softOnly + 0.5 * hard, 5);
    const eps = 1e-2;
    for (let i = 0; i < studentLogits.length; i++) {
      const plus = new Float32Array(studentLogits); plus[i]! += eps;
      const minus = new Float32Array(studentLogits); minus[i]! -= eps;
      const numeric = ((await lossAndGrad(partial, plus, 0.5)).loss - (await lossAndGrad(partial, minus, 0.5)).loss) / (2 * eps);
      expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(numeric));
    }
  });

  it('a batch with no labelled row trains on the soft loss alone (no division by zero)', async () => {
    const none = [-100, -100, -100];
    const mixed = await lossAndGrad(none, studentLogits, 0.5);
    const soft = await lossAndGrad(none, studentLogits, 1);
    expect(mixed.loss).toBeCloseTo(0.5 * soft.loss, 6);
    mixed.grad.forEach((v, i) => expect(v).toBeCloseTo(0.5 * soft.grad[i]!, 6));
  });

  it('with every row labelled it equals the plain loss', async () => {
    const plain = await graphLoss(0.5, 2, 0);
    const expected = Number((await plain.at(studentLogits))[plain.loss]!.data[0]);
    expect((await lossAndGrad(labels, studentLogits, 0.5)).loss).toBeCloseTo(expected, 5);
  });
});
