// Distillation end to end on small slices: report fields, the cache and --offline, teacher crashes
// and a SIGKILLed student, each compared with an uninterrupted run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { distill, type DistillOptions } from '../../student/distill.js';
import { label } from '../../student/label.js';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const root = path.resolve(__dirname, '../..');
const tmp = (p = 'minnow-distill-') => mkdtempSync(path.join(tmpdir(), p));
let teacherFile: string;
let server: TeacherServer;

beforeAll(async () => {
  const out = tmp('minnow-teacher-');
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=48', epochs: 2, batch: 16, lr: 3e-3, vocabSize: 300, out, dataOptions: { limit: 160 } });
  teacherFile = path.join(out, 'model.onnx');
  server = await serveTeacher({ model: teacherFile, port: 0, logger: false });
});
afterAll(async () => { await server?.close(); });

const base = (): Omit<DistillOptions, 'out'> => ({
  data: 'spam', student: 'transformer:layers=1,dim=8,heads=2,ff=16,ctx=48', epochs: 2, batch: 16, lr: 3e-3, seed: 5,
  alpha: 0.7, temperature: 2, dataOptions: { limit: 96 }, cacheDir: tmp('minnow-cache-'),
});

async function finalParams(out: string): Promise<Map<string, Float32Array>> {
  const ckpt = await loadCheckpoint(path.join(out, 'checkpoint'));
  return new Map([...ckpt.params].map(([k, t]) => [k, t.data as Float32Array]));
}

function expectSameParams(a: Map<string, Float32Array>, b: Map<string, Float32Array>, tol = 1e-5) {
  expect([...a.keys()]).toEqual([...b.keys()]);
  let max = 0;
  for (const [k, v] of a) { const w = b.get(k)!; for (let i = 0; i < v.length; i++) max = Math.max(max, Math.abs(v[i]! - w[i]!)); }
  expect(max).toBeLessThan(tol);
}

function startTeacher(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'teacher', 'serve', teacherFile, '--port', String(port)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d) => { err += d; if (/serving ws:/.test(err)) resolve(child); });
    child.on('exit', (code) => reject(new Error(`teacher exited ${code}: ${err}`)));
  });
}

describe('minnow distill', () => {
  let onlineOut: string;
  let options: Omit<DistillOptions, 'out'>;

  it('trains a student from soft labels and reports teacher, sizes and agreement', async () => {
    options = base();
    onlineOut = tmp();
    const report = await distill({ ...options, teachers: [server.url], out: onlineOut });
    expect(report.teacher_id).toBe(server.teacherId);
    expect(report.student_params).toBeLessThan(server.model.params);
    expect(report.compression_ratio).toBeCloseTo(server.model.params / report.student_params, 6);
    expect(report.validation.teacher_agreement).toBeGreaterThan(0);
    expect(report.teacher_wait_share).toBeGreaterThanOrEqual(0);
    expect(report.teacher_wait_share).toBeLessThan(1);
    expect((report.distillation as { cache_misses: number }).cache_misses).toBeGreaterThan(0);
    const written = JSON.parse(readFileSync(path.join(onlineOut, 'report.json'), 'utf8'));
    expect(written.teacher_id).toBe(server.teacherId);
  });

  it('--offline with a warm cache reaches the same parameters as the online run', async () => {
    const out = tmp();
    const report = await distill({ ...options, offline: true, out });
    expect((report.distillation as { cache_misses: number }).cache_misses).toBe(0);
    expectSameParams(await finalParams(out), await finalParams(onlineOut));
  });

  it('--offline with a cold cache says how to fill it', async () => {
    await expect(distill({ ...base(), offline: true, out: tmp() })).rejects.toThrow(/no cached teacher .*run once with --teacher/);
  });

  it('--no-teacher trains the same student on hard labels only', async () => {
    const report = await distill({ ...base(), task: 'classify', noTeacher: true, out: tmp() });
    expect(report.teacher_id).toBeNull();
    expect(report.student_params).toBeGreaterThan(0);
    expect(report.teacher_wait_share).toBeUndefined();
  });

  for (const order of [['--teacher', 'URL', '--no-teacher'], ['--no-teacher', '--teacher', 'URL']]) it(`the CLI keeps the teacher's URL with ${order.join(' ')}: the baseline reads text with the teacher's tokenizer`, async () => {
    const out = tmp();
    const args = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'distill', ...order.map((w) => (w === 'URL' ? server.url : w)), '--data', 'spam', '--student', options.student!,
      '--epochs', '1', '--batch', '16', '--limit', '48', '--cache', tmp('minnow-cache-'), '--out', out];
    // Asynchronously: the teacher serves from this process.
    const child = spawn(process.execPath, args, { cwd: root });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const code = await new Promise((r) => child.on('exit', r));
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.teacher_id).toBe(server.teacherId);
    expect(report.distillation).toBeNull();
    expect(readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).toBe(readFileSync(path.join(path.dirname(teacherFile), 'tokenizer.json'), 'utf8'));
  });

  it('a teacher killed mid-run and restarted: the run finishes with the uninterrupted parameters', async () => {
    const port = 17000 + Math.floor(Math.random() * 20000);
    let teacher = await startTeacher(port);
    const out = tmp();
    let restarted: Promise<void> | undefined;
    const report = await distill({
      ...options, cacheDir: tmp('minnow-cache-'), teachers: [`ws://127.0.0.1:${port}`], out, prefetch: 2,
      onEvent: (e) => {
        if (e.type === 'step' && e.step === 2 && !restarted) {
          teacher.kill('SIGKILL');
          restarted = new Promise((r) => setTimeout(r, 300)).then(async () => { teacher = await startTeacher(port); });
        }
      },
    });
    await restarted;
    teacher.kill('SIGTERM');
    expect(report.steps).toBe(12);
    expectSameParams(await finalParams(out), await finalParams(onlineOut));
  });

  it('two replicas used at once, one killed mid-run: the run finishes with the uninterrupted parameters', async () => {
    const ports = [0, 1].map(() => 17000 + Math.floor(Math.random() * 20000));
    const [a, b] = (await Promise.all(ports.map(startTeacher))) as [ChildProcess, ChildProcess];
    const served = async (port: number) => Number(/minnow_teacher_requests_total (\d+)/.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())![1]);
    let servedByA = 0;
    const out = tmp();
    const report = await distill({
      ...options, cacheDir: tmp('minnow-cache-'), teachers: ports.map((p) => `ws://127.0.0.1:${p}`), out, prefetch: 4,
      onEvent: (e) => {
        if (e.type === 'step' && e.step === 3 && a.exitCode === null && !a.killed) {
          void served(ports[0]!).then((n) => { servedByA = n; a.kill('SIGKILL'); });
        }
      },
    });
    const servedByB = await served(ports[1]!);
    b.kill('SIGTERM');
    expect(report.steps).toBe(12);
    // Both replicas answered: the client spread its requests, then sent A's unanswered ones to B.
    expect(servedByA).toBeGreaterThan(0);
    expect(servedByB).toBeGreaterThan(0);
    expectSameParams(await finalParams(out), await finalParams(onlineOut), 1e-6);
  });

  it('teacher label fills the cache with two replicas; distill --offline then trains to the online parameters', async () => {
    const replicas = await Promise.all([0, 1].map(() => serveTeacher({ model: teacherFile, port: 0, logger: false })));
    const cacheDir = tmp('minnow-cache-');
    const seen: number[] = [];
    const report = await label({
      teachers: replicas.map((r) => r.url), data: options.data, student: options.student, temperature: options.temperature, batch: 4,
      dataOptions: options.dataOptions, cacheDir, onProgress: (done) => seen.push(done),
    });
    const served = await Promise.all(replicas.map(async (r) => Number(/minnow_teacher_requests_total (\d+)/.exec(await r.metrics.text())![1])));
    await Promise.all(replicas.map((r) => r.close()));
    expect(report).toMatchObject({ teacher_id: server.teacherId, task: 'classify', student: options.student, temperature: 2, top_k: 0 });
    // Mails that occur twice are answered once; the second copy is found in the cache.
    expect(report.labelled + report.cached).toBe(report.examples.train + report.examples.validation);
    expect(report.labelled).toBeGreaterThan(report.cached);
    expect(seen.at(-1)).toBe(report.labelled + report.cached);
    for (const n of served) expect(n).toBeGreaterThan(0);
    const out = tmp();
    const offline = await distill({ ...options, offline: true, cacheDir, out });
    expect((offline.distillation as { cache_misses: number }).cache_misses).toBe(0);
    expectSameParams(await finalParams(out), await finalParams(onlineOut), 1e-6);
  });

  it('batches larger than the teacher\'s max_batch go in several requests, to the same parameters', async () => {
    const narrow = await serveTeacher({ model: teacherFile, port: 0, logger: false, maxBatch: 5 });
    const out = tmp();
    await distill({ ...options, cacheDir: tmp('minnow-cache-'), teachers: [narrow.url], out });
    await narrow.close();
    expectSameParams(await finalParams(out), await finalParams(onlineOut), 1e-6);
  });

  it('a SIGKILLed student resumes from its checkpoint to the same parameters', async () => {
    const out = tmp();
    const cache = tmp('minnow-cache-');
    const args = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'distill', '--teacher', server.url, '--data', 'spam', '--student', options.student!,
      '--epochs', '2', '--batch', '16', '--lr', '0.003', '--seed', '5', '--alpha', '0.7', '--temperature', '2', '--limit', '96', '--cache', cache,
      '--checkpoint-every', '2', '--out', out];
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const ckpt = path.join(out, 'checkpoint', 'checkpoint.msgpack');
    await new Promise<void>((resolve) => {
      const poll = setInterval(async () => {
        if (existsSync(ckpt) && (await loadCheckpoint(path.join(out, 'checkpoint')).catch(() => undefined))?.step! >= 4) { clearInterval(poll); resolve(); }
      }, 20);
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const killedAt = (await loadCheckpoint(path.join(out, 'checkpoint'))).step;
    expect(killedAt).toBeLessThan(12);
    const report = await distill({ teachers: [server.url], data: 'spam', out, resume: out, cacheDir: cache, dataOptions: { limit: 96 } });
    expect(report.steps).toBe(12);
    expectSameParams(await finalParams(out), await finalParams(onlineOut));
  });

  it('refuses a teacher with another id on resume', async () => {
    const other = await serveTeacher({ model: (await import('../helpers/teacher-fixture.js')).writeTeacherModel('classify', { vocab: 300, ctx: 48 }), port: 0, logger: false });
    await expect(distill({ teachers: [other.url], data: 'spam', out: onlineOut, resume: onlineOut, dataOptions: { limit: 96 } })).rejects.toMatchObject({ code: 'teacher_changed' });
    await other.close();
  });
});

describe('rows', () => {
  it('strip and restore padding, and split/join feeds', async () => {
    const { rowOf, stackRows, splitFeeds, joinFeeds } = await import('../../student/rows.js');
    const { Tensor } = await import('../../src/onnx/tensor.js');
    const batch = {
      input_ids: Tensor.fromNumbers('int64', [2, 3], [5, 6, 7, 8, 0, 0]),
      attention_mask: Tensor.fromNumbers('int64', [2, 3], [1, 1, 1, 1, 0, 0]),
      labels: Tensor.fromNumbers('int64', [2], [1, 0]),
    };
    const r1 = rowOf(batch, 1);
    expect(r1.input_ids!.toNumbers()).toEqual([8]);
    expect(r1.labels).toBeUndefined();
    const back = stackRows([rowOf(batch, 0), r1], 0);
    expect(back.input_ids!.toNumbers()).toEqual([5, 6, 7, 8, 0, 0]);
    expect(back.attention_mask!.toNumbers()).toEqual([1, 1, 1, 1, 0, 0]);
    const feeds = { a: Tensor.fromNumbers('float32', [2, 2], [1, 2, 3, 4]) };
    expect(joinFeeds(splitFeeds(feeds, 2)).a!.toNumbers()).toEqual([1, 2, 3, 4]);
  });
});
