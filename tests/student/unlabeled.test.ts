// Distillation with examples nobody labelled: the teacher labels them, the student trains on the
// union (soft + hard where there is a label, soft alone elsewhere), with the cache, --offline and
// --resume as for labelled data; broken teachers stop the run before the student learns from them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { distill, type DistillOptions } from '../../student/distill.js';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { readOnnxFile } from '../../src/onnx/model-file.js';
import { stampWeightsDigest } from '../../src/onnx/digest.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { loadDataset } from '../../src/data/datasets.js';
import { softLabelProblem } from '../../student/soft-label-checks.js';
import { TEACHER_INPUTS } from '../../src/train/distill-loss.js';

const root = path.resolve(__dirname, '../..');
const tmp = (p = 'minnow-unlabeled-') => mkdtempSync(path.join(tmpdir(), p));
let teacherDir: string;
let server: TeacherServer;
const DATA = { limit: 240, labelsFraction: 0.1 };

beforeAll(async () => {
  teacherDir = tmp('minnow-teacher-');
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=48', epochs: 2, batch: 16, lr: 3e-3, vocabSize: 300, out: teacherDir, dataOptions: { limit: 240 } });
  server = await serveTeacher({ model: path.join(teacherDir, 'model.onnx'), port: 0, logger: false });
});
afterAll(async () => { await server?.close(); });

const base = (): Omit<DistillOptions, 'out'> => ({
  data: 'spam', student: 'transformer:layers=1,dim=8,heads=2,ff=16,ctx=48', epochs: 2, batch: 16, lr: 3e-3, seed: 5,
  dataOptions: DATA, unlabeled: ['spam'], cacheDir: tmp('minnow-cache-'),
});

async function finalParams(out: string): Promise<Map<string, Float32Array>> {
  const ckpt = await loadCheckpoint(path.join(out, 'checkpoint'));
  return new Map([...ckpt.params].map(([k, t]) => [k, t.data as Float32Array]));
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let max = 0;
  for (const [k, v] of a) { const w = b.get(k)!; for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]! - w[i]!)); }
  return max;
}

describe('distill --unlabeled', () => {
  let options: Omit<DistillOptions, 'out'>;
  let onlineOut: string;

  it('trains on the labelled and the withheld examples, epochs over the union, and reports both counts', async () => {
    const data = loadDataset('spam', 'classify', DATA);
    if (data.task !== 'classify') throw new Error('unreachable');
    const labelled = data.splits.train.length, unlabelled = data.withheld!.length;
    expect(labelled).toBeLessThan(unlabelled / 5);
    options = base();
    onlineOut = tmp();
    const report = await distill({ ...options, teachers: [server.url], out: onlineOut });
    expect(report.train_examples).toEqual({ labelled, unlabelled });
    // A text classifier's soft labels default to temperature 1 (DEFAULT_TEMPERATURE).
    expect(report.distillation).toMatchObject({ alpha: 0.5, temperature: 1 });
    expect(report.steps).toBe(2 * Math.ceil((labelled + unlabelled) / 16));
    const d = report.distillation as { cache_misses: number };
    expect(d.cache_misses).toBeGreaterThanOrEqual(labelled + unlabelled - 5); // duplicate mails are asked once
  });

  it('--offline from the warm cache reaches the same weights, and --resume continues the same run', async () => {
    const offline = tmp();
    await distill({ ...options, offline: true, out: offline });
    expect(maxDiff(await finalParams(offline), await finalParams(onlineOut))).toBeLessThan(1e-5);
    const stopped = tmp();
    const first = await distill({ ...options, teachers: [server.url], maxSteps: 7, out: stopped });
    expect(first.steps).toBe(7);
    // The resumed run takes --unlabeled and the labels fraction from its checkpoint.
    const { unlabeled: _u, dataOptions: _d, ...rest } = options;
    await distill({ ...rest, teachers: [server.url], resume: stopped, out: stopped });
    expect(maxDiff(await finalParams(stopped), await finalParams(onlineOut))).toBeLessThan(1e-5);
  });

  it('needs soft labels: --no-teacher with --unlabeled is refused', async () => {
    await expect(distill({ ...base(), noTeacher: true, task: 'classify', out: tmp() })).rejects.toThrow(/--unlabeled examples learn from a teacher's soft labels/);
  });
});

/** A copy of the teacher with its head changed: every input then gets the same answer. */
function brokenTeacher(bias: number[]): string {
  const { graph } = readOnnxFile(path.join(teacherDir, 'model.onnx'));
  const w = graph.initializers.get('head.weight')!;
  graph.initializers.set('head.weight', new Tensor('float32', w.dims, new Float32Array(w.size)));
  graph.initializers.set('head.bias', new Tensor('float32', [bias.length], Float32Array.from(bias)));
  stampWeightsDigest(graph);
  const dir = tmp('minnow-broken-');
  writeFileSync(path.join(dir, 'model.onnx'), encodeModel(graph));
  writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
  return path.join(dir, 'model.onnx');
}

describe('teacher sanity checks', () => {
  it('NaN, flat and input-blind soft labels are each named; healthy ones pass', () => {
    const feeds = (rows: number[][]) => ({ [TEACHER_INPUTS.logProbs]: new Tensor('float32', [rows.length, rows[0]!.length], Float32Array.from(rows.flat())) });
    const healthy = [[-0.1, -2.4], [-3, -0.05], [-0.2, -1.7], [-1.2, -0.35]];
    expect(softLabelProblem(feeds(healthy), 4)).toBeUndefined();
    expect(softLabelProblem(feeds([[-0.1, NaN], ...healthy.slice(1)]), 4)).toMatch(/hold NaN \(row 0\)/);
    expect(softLabelProblem(feeds([[-0.1, -Infinity], ...healthy.slice(1)]), 4)).toMatch(/-Infinity/);
    const flat = [[-0.69, -0.7], [-0.7, -0.69], [-0.69, -0.695], [-0.7, -0.69], [-0.1, -2.4]];
    expect(softLabelProblem(feeds(flat.slice(0, 4)), 4)).toMatch(/near-uniform on 4 of 4 rows/);
    expect(softLabelProblem(feeds(flat), 5)).toMatch(/near-uniform on 4 of 5 rows/);
    expect(softLabelProblem(feeds([...flat.slice(0, 3), ...healthy]), 7)).toBeUndefined();
    expect(softLabelProblem(feeds([[-0.1, -2.4], [-0.1, -2.4], [-0.1, -2.4], [-0.1, -2.4]]), 4)).toMatch(/same soft labels for 4 different inputs/);
    expect(softLabelProblem(feeds([[-0.1, -2.4], [-0.1, -2.4]]), 2)).toBeUndefined(); // too few to tell
  });

  for (const [what, bias, message] of [
    ['an untrained (flat) teacher', [0, 0], /near-uniform on \d+ of \d+ rows/],
    ['a teacher blind to its inputs', [2, -2], /same soft labels for \d+ different inputs/],
  ] as const) {
    it(`${what} stops the run with a message naming it`, async () => {
      const bad = await serveTeacher({ model: brokenTeacher([...bias]), port: 0, logger: false });
      try {
        const run = distill({ ...base(), unlabeled: undefined, dataOptions: { limit: 64 }, teachers: [bad.url], out: tmp() });
        const err = await run.then(() => undefined, (e: Error) => e);
        expect(err?.message).toMatch(message);
        expect(err?.message).toContain(`teacher ${bad.url} (${bad.teacherId.slice(0, 12)}): `);
      } finally {
        await bad.close();
      }
    });
  }
});

/** The CLI as a child process, without blocking this process's event loop (the teacher serves from it). */
function minnow(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function expectUserError(r: Awaited<ReturnType<typeof minnow>>, pattern: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

describe('the CLI on scarce labels', () => {
  it('refuses --labels-fraction 0 or above 1 on train, teacher train and distill', async () => {
    for (const command of [['train', '--task', 'classify'], ['teacher', 'train', '--task', 'classify'], ['distill', '--no-teacher', '--task', 'classify']]) {
      for (const f of ['0', '1.5', 'half']) {
        expectUserError(await minnow(...command, '--data', 'spam', '--labels-fraction', f, '--out', tmp()), /--labels-fraction must be a fraction in \(0, 1\]/);
      }
    }
  });

  it('refuses an empty unlabelled set and one of the wrong kind; accepts a labelled file with a note', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'empty.jsonl'), '');
    writeFileSync(path.join(dir, 'labelled.jsonl'), '{"text":"WIN a free cruise now","label":"spam"}\n{"text":"see you at lunch","label":"ham"}\n');
    const flags = ['--data', 'spam', '--limit', '48', '--student', 'transformer:layers=1,dim=8,heads=2,ff=16,ctx=48', '--max-steps', '2', '--cache', tmp()];
    expectUserError(await minnow('distill', '--teacher', server.url, ...flags, '--unlabeled', path.join(dir, 'empty.jsonl'), '--out', tmp()), /--unlabeled .*empty\.jsonl holds no examples/);
    expectUserError(await minnow('distill', '--teacher', server.url, ...flags, '--unlabeled', 'fashion-mnist', '--out', tmp()), /--unlabeled fashion-mnist holds images; the classify teacher reads text/);
    expectUserError(await minnow('distill', '--no-teacher', '--task', 'classify', ...flags, '--unlabeled', 'spam', '--out', tmp()), /drop --no-teacher/);
    const ok = await minnow('distill', '--teacher', server.url, ...flags, '--unlabeled', path.join(dir, 'labelled.jsonl'), '--out', tmp());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/--unlabeled labelled\.jsonl: 2 examples \(the labels it carries are ignored\)/);
    expect(ok.stderr).toMatch(/on 50 examples \(2 of them unlabelled\)/);
    expect(JSON.parse(ok.stdout).train_examples).toEqual({ labelled: 48, unlabelled: 2 });
  });
});
