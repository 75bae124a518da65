// `minnow pipeline` run as a user runs it (a child process): end to end on a small slice, a second
// run that skips every stage, report.html in Chromium, interruptions (SIGINT, SIGKILL) resumed, and
// a user's own JSONL file, good and bad.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { PipelineReport } from '../../pipeline/index.js';

const root = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const cli = ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'pipeline'];
const dirs: string[] = [];
const tmp = () => { const d = mkdtempSync(path.join(tmpdir(), 'minnow-pipeline-')); dirs.push(d); return d; };

function pipeline(...args: string[]) {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...cli, ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - t0) / 1000 };
}

const reportOf = (out: string) => JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as PipelineReport;

/** Starts the pipeline and sends `signal` once stderr shows the student training. */
function interruptDuringDistillation(out: string, signal: NodeJS.Signals, extra: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; pid: number }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [...cli, ...extra, '--out', out], { cwd: root });
    let stderr = '', sent = false;
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && /\n {2}student:\n(.*\n)*step \d+\//.test(stderr)) { sent = true; child.kill(signal); }
    });
    child.on('exit', (code, sig) => resolve({ code, signal: sig, stderr, pid: child.pid! }));
  });
}

/** The port the teacher server of a run listened on (from its log). */
function teacherPort(out: string): number {
  const log = readFileSync(path.join(out, 'serve', 'server.log'), 'utf8');
  return Number(/"url":"ws:\/\/127\.0\.0\.1:(\d+)"/.exec(log)![1]);
}

const portFree = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});

/** Processes whose command line names the run's directory. */
const processesOf = (out: string) => spawnSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(out) && !l.includes('ps -eo'));

afterAll(() => { for (const d of dirs) spawnSync('rm', ['-rf', d]); });

const SLICE = ['--data', 'fashion-mnist', '--quick', '--limit', '300'];

describe('minnow pipeline --quick', () => {
  const out = tmp();
  let first: ReturnType<typeof pipeline>;

  it('runs end to end on a small slice: every stage, a smaller student, int4 < int8 < fp32, metrics in range', () => {
    first = pipeline(...SLICE, '--out', out);
    expect(first.code, first.stderr).toBe(0);
    const r = reportOf(out);
    expect(Object.keys(r.stages).sort()).toEqual(['compress', 'distill', 'evaluate', 'report', 'serve', 'teacher']);
    expect(Object.values(r.stages).every((s) => s.status === 'ran')).toBe(true);
    const by = (name: string) => r.models.find((m) => m.name === name)!;
    expect(by('student').params).toBeLessThan(by('teacher').params / 10);
    expect(by('int4').bytes).toBeLessThan(by('int8').bytes);
    expect(by('int8').bytes).toBeLessThan(by('student').bytes);
    for (const m of r.models) {
      expect(m.metric, m.name).toBeGreaterThan(0.1); // ten classes: above chance
      expect(m.metric, m.name).toBeLessThanOrEqual(1);
      expect(m.p50NodeMs).toBeGreaterThan(0);
      expect(m.p50WebMs).toBeGreaterThan(0);
    }
    expect(by('teacher').metric).toBeGreaterThan(0.5);
    const shipped = readFileSync(path.join(out, 'student.onnx'));
    expect(createHash('sha256').update(shipped).digest('hex')).toBe(r.shipped.sha256);
    expect(r.commands.distill[1]).toMatch(/--no-teacher/);
    expect(first.stderr).toMatch(/^evaluate {2}teacher /m);
  });

  it('a second run skips every stage and finishes in under 30 seconds', () => {
    const again = pipeline(...SLICE, '--out', out);
    expect(again.code, again.stderr).toBe(0);
    expect(again.seconds).toBeLessThan(30);
    const stages = reportOf(out).stages;
    expect(Object.entries(stages).map(([k, s]) => [k, s.status]).sort()).toEqual([
      ['compress', 'skipped'], ['distill', 'skipped'], ['evaluate', 'skipped'], ['report', 'skipped'], ['serve', 'not needed'], ['teacher', 'skipped'],
    ]);
    expect(again.stderr.match(/\(skipped, unchanged\)/g)).toHaveLength(5);
  });

  it('a stage whose files are gone runs again, and only that stage', () => {
    const shipped = reportOf(out).shipped;
    rmSync(shipped.file);
    const again = pipeline(...SLICE, '--out', out);
    expect(again.code, again.stderr).toBe(0);
    const r = reportOf(out);
    expect(r.stages.report!.status).toBe('ran');
    expect(r.stages.evaluate!.status).toBe('skipped');
    expect(createHash('sha256').update(readFileSync(shipped.file)).digest('hex')).toBe(shipped.sha256);
  });

  it('report.html renders every chart in Chromium, without console errors', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (req) => { if (!req.url().startsWith('file:')) errors.push(`network: ${req.url()}`); });
      await page.goto(`file://${path.join(out, 'report.html')}`);
      expect(await page.locator('.chart svg').count()).toBe(4);
      expect(await page.locator('.chart svg path, .chart svg rect').count()).toBeGreaterThan(20);
      expect(await page.textContent('body')).toContain(reportOf(out).shipped.sha256);
      expect(errors).toEqual([]);
      mkdirSync(path.join(root, 'tests/.tmp'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'tests/.tmp/pipeline-report.png'), fullPage: true });
      expect(statSync(path.join(root, 'tests/.tmp/pipeline-report.png')).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});

describe('minnow pipeline, interrupted', () => {
  const run = ['--data', 'fashion-mnist', '--quick', '--limit', '3000'];
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`${signal} during distillation, then the same command: it completes, the port is free, no process is left`, async () => {
      const out = tmp();
      const stopped = await interruptDuringDistillation(out, signal, run);
      if (signal === 'SIGINT') {
        expect(stopped.code, stopped.stderr).toBe(130);
        expect(stopped.stderr).toMatch(/interrupted.*run the same command again/);
      } else {
        expect(stopped.signal).toBe('SIGKILL');
      }
      expect(existsSync(path.join(out, 'distill', 'step.json'))).toBe(false);
      const port = teacherPort(out);
      expect(await portFree(port)).toBe(true);
      expect(processesOf(out)).toEqual([]);
      const resumed = pipeline(...run, '--out', out);
      expect(resumed.code, resumed.stderr).toBe(0);
      const r = reportOf(out);
      expect(r.stages.teacher!.status).toBe('skipped');
      expect(r.stages.distill!.status).toBe('ran');
      // Each training step appears once in the resumed student's curve.
      const steps = r.curves.training.filter((p) => p.run === 'student').map((p) => p.step);
      expect(new Set(steps).size).toBe(steps.length);
      expect(await portFree(teacherPort(out))).toBe(true);
      expect(processesOf(out)).toEqual([]);
    });
  }
});

describe('minnow pipeline on a user\'s JSONL file', () => {
  it('goes through every stage', () => {
    const dir = tmp();
    const file = path.join(dir, 'reviews.jsonl');
    const good = ['great', 'love', 'excellent', 'happy', 'perfect', 'wonderful'], bad = ['awful', 'hate', 'broken', 'refund', 'terrible', 'worst'];
    const lines = Array.from({ length: 400 }, (_, i) => {
      const words = i % 2 ? good : bad;
      const text = Array.from({ length: 6 }, (_, j) => (j % 2 ? words[(i * 7 + j) % words.length] : ['the', 'item', 'was', 'it', 'is', 'so'][(i + j) % 6])).join(' ');
      return JSON.stringify({ text: `${text} #${i}`, label: i % 2 ? 'positive' : 'negative' });
    });
    writeFileSync(file, lines.join('\n') + '\n');
    const r = pipeline('--data', file, '--quick', '--out', path.join(dir, 'run'));
    expect(r.code, r.stderr).toBe(0);
    const report = reportOf(path.join(dir, 'run'));
    expect(report.task).toBe('classify');
    expect(Object.keys(report.stages)).toHaveLength(6);
    expect(report.models.find((m) => m.name === 'teacher')!.metric).toBeGreaterThan(0.9);
    expect(report.models.find((m) => m.name === 'student')!.metric).toBeGreaterThan(0.9);
  });

  it('a bad file stops at the first stage with its line number (exit 2, one line)', () => {
    const dir = tmp();
    const file = path.join(dir, 'bad.jsonl');
    writeFileSync(file, '{"text": "fine", "label": "a"}\n{"text": "also fine", "label": "b"}\n{"text": oops}\n');
    const r = pipeline('--data', file, '--quick', '--out', path.join(dir, 'run'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^minnow: teacher stage: .*bad\.jsonl:3: not valid JSON/);
    expect(existsSync(path.join(dir, 'run', 'distill'))).toBe(false);
  });
});

describe('minnow pipeline, bad options', () => {
  const expectOneLine = (r: ReturnType<typeof pipeline>, pattern: RegExp) => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(pattern);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  };

  it('a student that cannot serve the task stops before any stage', () => {
    const out = tmp();
    const r = pipeline('--data', 'fashion-mnist', '--quick', '--limit', '64', '--student', 'transformer:layers=1', '--out', out);
    expectOneLine(r, /^minnow: model spec 'transformer:layers=1' \(transformer\) does not fit --task image/);
    expect(existsSync(path.join(out, 'teacher'))).toBe(false);
  });

  it('missing data, with or without --task, and an unreachable teacher server', () => {
    expectOneLine(pipeline('--data', '/nonexistent/data.jsonl', '--task', 'classify', '--out', tmp()), /^minnow: data '\/nonexistent\/data\.jsonl' not found/);
    expectOneLine(pipeline('--data', 'fashion-mnist', '--limit', '64', '--teacher', 'ws://127.0.0.1:1', '--out', tmp()), /^minnow: teacher stage: no teacher reachable at ws:\/\/127\.0\.0\.1:1/);
  });
});
