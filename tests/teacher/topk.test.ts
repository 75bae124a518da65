// Top-k soft labels over a 4096-token vocabulary: bytes on the wire against full fp32 logits, and
// the KL divergence they cost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { TeacherClient } from '../../student/teacher-client.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import { topKTailKL, topKRows, logSoftmaxRows, sampleRows } from '../../teacher/soft-labels.js';
import { Graph } from '../../src/onnx/graph.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { grad } from '../../src/autodiff/grad.js';
import { distillationLoss, TEACHER_INPUTS } from '../../src/train/distill-loss.js';
import { ids, writeTeacherModel } from '../helpers/teacher-fixture.js';
import { softLabelProblem } from '../../student/soft-label-checks.js';

const VOCAB = 4096;
let server: TeacherServer;
beforeAll(async () => { server = await serveTeacher({ model: writeTeacherModel('lm', { vocab: VOCAB, ctx: 16 }), port: 0, logger: false }); });
afterAll(async () => { await server?.close(); });

describe('top-k soft labels', () => {
  it('k=32 costs under 1/20 of the bytes of full fp32 logits per position', async () => {
    const client = await TeacherClient.connect({ urls: [server.url] });
    const inputs = { input_ids: { dtype: 'int64' as const, dims: [2, 16], data: ids(2, 16, VOCAB, 3) } };
    const full = await client.infer(inputs, { temperature: 2 });
    const topk = await client.infer(inputs, { temperature: 2, topK: 32 });
    const topkHalf = await client.infer(inputs, { temperature: 2, topK: 32, fp16: true });
    const positions = 2 * 16;
    const fullBytes = encodeFrame(full).length / positions;
    const topkBytes = encodeFrame(topk).length / positions;
    expect(fullBytes).toBeGreaterThan(VOCAB * 4);
    expect(topkBytes / fullBytes).toBeLessThan(1 / 20);
    expect(encodeFrame(topkHalf).length).toBeLessThan(encodeFrame(topk).length);
    // The top-k values are the full distribution's largest entries, and the tail is what is left.
    const fullLp = full.log_probs as Float32Array;
    const { values, tail } = topKRows(fullLp, positions, VOCAB, 32);
    const got = topk.log_probs as Float32Array;
    for (let i = 0; i < values.length; i++) expect(got[i]).toBeCloseTo(values[i]!, 5);
    for (let i = 0; i < positions; i++) expect(topk.tail_mass![i]).toBeCloseTo(tail[i]!, 5);
    const kl = topKTailKL(fullLp, positions, VOCAB, 32);
    expect(kl).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(kl)).toBe(true);
    await client.close();
  });

  it('KL of top-k + tail is zero for a distribution inside the top k', () => {
    const logits = new Float32Array(10).fill(-50);
    logits[3] = 5; logits[7] = 4;
    const lp = logSoftmaxRows(logits, 1, 10, 1);
    expect(topKTailKL(lp, 1, 10, 2)).toBeLessThan(1e-12);
  });
});

describe('sampled soft labels', () => {
  const probs = [0.5, 0.3, 0.15, 0.05, 0];
  const lp = Float32Array.from(probs, Math.log);

  it('draw each token in proportion to its probability, the same tokens for the same row', () => {
    const k = 20_000;
    const { indices, tail } = sampleRows(lp, 1, 5, k);
    const share = probs.map((_, j) => indices.filter((i) => i === j).length / k);
    share.forEach((s, j) => expect(Math.abs(s - probs[j]!)).toBeLessThan(0.01));
    expect(share[4]).toBe(0); // a token of probability 0 is never drawn
    expect(tail[0]).toBe(0);
    expect([...sampleRows(lp, 1, 5, 32).indices]).toEqual([...sampleRows(lp, 1, 5, 32).indices]);
  });

  it('a row of NaN logits is passed on as a NaN tail, not as draws of token 0, and the student\'s check names it', () => {
    const rows = Float32Array.from([...lp, ...logSoftmaxRows(Float32Array.of(1, NaN, 0, 0, 0), 1, 5, 1)]);
    const { tail } = sampleRows(rows, 2, 5, 8);
    expect(tail[0]).toBe(0);
    expect(tail[1]).toBeNaN();
    const feeds = { [TEACHER_INPUTS.logProbs]: new Tensor('float32', [2, 8], new Float32Array(16).fill(-Math.log(8))), [TEACHER_INPUTS.tailMass]: new Tensor('float32', [2], tail) };
    expect(softLabelProblem(feeds, 2, { sampled: true })).toMatch(/not finite \(NaN or Inf logits\)/);
  });

  it('through the distillation loss, their gradient estimates the full distribution\'s without the top-k bias', async () => {
    const V = 5, k = 4000;
    const student = Float32Array.of(0.2, -0.1, 0.4, 0, -0.3);
    const gradientWith = async (feeds: Record<string, Tensor>, topK: number) => {
      const g = new Graph();
      const logits = g.input('logits', 'float32', ['batch', V]);
      const labels = g.input('labels', 'int64', ['batch']);
      const loss = distillationLoss(g, logits, labels, { alpha: 1, temperature: 1, topK, hardLabels: false });
      const dl = grad(g, loss, [logits]).get(logits)!;
      g.output(dl);
      const out = await run(await createSession(encodeModel(g)), { ...feeds, logits: new Tensor('float32', [1, V], student), labels: Tensor.fromNumbers('int64', [1], [0]) });
      return out[dl]!.toNumbers();
    };
    const exact = await gradientWith({ [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, V], lp) }, 0);
    const { indices, tail } = sampleRows(lp, 1, V, k);
    const sampled = await gradientWith({
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, k], new Float32Array(k).fill(-Math.log(k))),
      [TEACHER_INPUTS.indices]: Tensor.fromNumbers('int64', [1, k], [...indices]),
      [TEACHER_INPUTS.tailMass]: new Tensor('float32', [1], tail),
    }, k);
    sampled.forEach((v, j) => expect(v).toBeCloseTo(exact[j]!, 1));
    // The top 2 renormalised put 0.625 and 0.375 on tokens 0 and 1 and nothing elsewhere: off by more than 0.1.
    const top = topKRows(lp, 1, V, 2);
    const renorm = Float32Array.from(top.values, (v) => v - Math.log(0.8));
    const biased = await gradientWith({
      [TEACHER_INPUTS.logProbs]: new Tensor('float32', [1, 2], renorm),
      [TEACHER_INPUTS.indices]: Tensor.fromNumbers('int64', [1, 2], [...top.indices]),
      [TEACHER_INPUTS.tailMass]: new Tensor('float32', [1], new Float32Array(1)),
    }, 2);
    expect(Math.max(...biased.map((v, j) => Math.abs(v - exact[j]!)))).toBeGreaterThan(0.1);
    expect(Math.max(...sampled.map((v, j) => Math.abs(v - exact[j]!)))).toBeLessThan(0.03);
  });

  it('the server sends k draws per position, each weighted 1/k, in as many bytes as top-k', async () => {
    const client = await TeacherClient.connect({ urls: [server.url] });
    const inputs = { input_ids: { dtype: 'int64' as const, dims: [2, 16], data: ids(2, 16, VOCAB, 3) } };
    const top = await client.infer(inputs, { temperature: 2, topK: 32, fp16: true });
    const drawn = await client.infer(inputs, { temperature: 2, topK: 32, sample: true, fp16: true });
    expect(drawn.format).toBe('sampled');
    expect(drawn.indices!.length).toBe(2 * 16 * 32);
    expect(drawn.indices!.every((i) => i >= 0 && i < VOCAB)).toBe(true);
    expect([...drawn.tail_mass!]).toEqual(new Array(32).fill(0));
    expect(Math.abs(encodeFrame(drawn).length - encodeFrame(top).length)).toBeLessThan(64);
    await client.close();
  });
});
