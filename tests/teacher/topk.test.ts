// Top-k soft labels over a 4096-token vocabulary: bytes on the wire against full fp32 logits, and
// the KL divergence they cost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { TeacherClient } from '../../student/teacher-client.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import { topKTailKL, topKRows, logSoftmaxRows } from '../../teacher/soft-labels.js';
import { ids, writeTeacherModel } from '../helpers/teacher-fixture.js';

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
