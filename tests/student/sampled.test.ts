// A language-model student distilled from sampled soft labels (k tokens drawn per position) instead
// of the top k: its own cache entries, the same weights offline, and the setting kept on --resume.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { distill, type DistillOptions } from '../../student/distill.js';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { TeacherClient } from '../../student/teacher-client.js';
import type { SoftMessage } from '../../src/protocol/messages.js';

const tmp = (p = 'minnow-sampled-') => mkdtempSync(path.join(tmpdir(), p));
let server: TeacherServer;

beforeAll(async () => {
  const out = tmp('minnow-lm-teacher-');
  await train({ task: 'lm', data: 'moby-dick', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=32', epochs: 1, batch: 16, lr: 3e-3, out, dataOptions: { limit: 20_000 } });
  server = await serveTeacher({ model: path.join(out, 'model.onnx'), port: 0, logger: false });
});
afterAll(async () => { await server?.close(); });

const params = async (out: string) => [...(await loadCheckpoint(path.join(out, 'checkpoint'))).params.values()].map((t) => [...(t.data as Float32Array)]);

describe('distill --soft-labels sample', () => {
  it('draws k tokens per position, caches them apart from top-k, and trains the same offline and resumed', async () => {
    const cacheDir = tmp('minnow-cache-');
    const options: Omit<DistillOptions, 'out'> = {
      data: 'moby-dick', student: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=32', epochs: 1, batch: 8, lr: 3e-3, seed: 2,
      topK: 8, sample: true, dataOptions: { limit: 6000 }, cacheDir, teachers: [server.url],
    };
    const online = tmp();
    const report = await distill({ ...options, out: online });
    expect(report.distillation).toMatchObject({ top_k: 8, soft_labels: 'sampled' });
    expect(Number.isFinite((report.metrics as { val_loss: number }).val_loss)).toBe(true);
    const teacherDir = path.join(cacheDir, server.teacherId.slice(0, 32));
    expect(readdirSync(teacherDir).sort()).toEqual(['T2-s8', 'info.json']);
    const offline = tmp();
    await distill({ ...options, teachers: undefined, offline: true, out: offline });
    expect(await params(offline)).toEqual(await params(online));
    const resumed = tmp();
    await distill({ ...options, maxSteps: 5, out: resumed });
    // The resumed run keeps sampling although it is not asked to again.
    await distill({ ...options, sample: undefined, resume: resumed, out: resumed });
    expect(await params(resumed)).toEqual(await params(online));
    // Top-k soft labels of the same teacher go elsewhere in the cache.
    await distill({ ...options, sample: false, maxSteps: 2, out: tmp() });
    expect(readdirSync(teacherDir).sort()).toEqual(['T2-k8', 'T2-s8', 'info.json']);
  });

  it('refuses unlabelled examples for a language model before training', async () => {
    const run = distill({ data: 'moby-dick', student: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=32', maxSteps: 1, unlabeled: ['spam'], dataOptions: { limit: 2000 }, cacheDir: tmp('minnow-cache-'), teachers: [server.url], out: tmp() });
    await expect(run).rejects.toThrow(/^--unlabeled: a language model has no labels to miss; add the text to its --data$/);
  });

  // A teacher from before a request field existed ignores it (the protocol drops unknown keys).
  for (const [what, change, message] of [
    ['top-k answers to a request for sampled ones', { format: 'topk' }, /answered topk soft labels to a request for sampled ones; .*--soft-labels topk/],
    ['answers at another temperature', { temperature: 1 }, /answered at temperature 1, not the 2 asked for/],
  ] as const) {
    it(`refuses ${what}, naming the teacher`, async () => {
      const infer = TeacherClient.prototype.infer;
      const spy = vi.spyOn(TeacherClient.prototype, 'infer').mockImplementation(async function (this: TeacherClient, ...args: Parameters<typeof infer>) {
        return { ...(await infer.apply(this, args)), ...change } as SoftMessage;
      });
      try {
        const run = distill({
          data: 'moby-dick', student: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=32', epochs: 1, batch: 8, topK: 8, sample: true,
          dataOptions: { limit: 2000 }, cacheDir: tmp('minnow-cache-'), teachers: [server.url], out: tmp(),
        });
        const err = await run.then(() => undefined, (e: Error) => e);
        expect(err?.message).toMatch(message);
        expect(err?.message).toContain(`teacher ${server.url} (${server.teacherId.slice(0, 12)})`);
      } finally {
        spy.mockRestore();
      }
    });
  }
});
