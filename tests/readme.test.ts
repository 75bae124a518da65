// The README's three paths, run as written: each snippet after a `<!-- test: NAME -->` line, with the
// pipeline's outputs (runs/spam/...) stood in for by a small teacher trained here, the ports by free
// ones, and the data limited to a slice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../src/train/job.js';

const root = path.resolve(__dirname, '..');
const work = mkdtempSync(path.join(tmpdir(), 'minnow-readme-'));
const teacherModel = path.join(work, 'teacher', 'model.onnx');

/** The code block after each `<!-- test: NAME -->` line of README.md. */
function snippets(): Map<string, string> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  return new Map([...readme.matchAll(/<!-- test: (\w+) -->\n```\w*\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));
}

/** A README command line as this test runs it: minnow from the source, outputs under the work dir. */
function localize(line: string, url?: string): string[] {
  const words = line.replace('runs/spam/teacher/run/model.onnx', teacherModel).replaceAll('runs/', `${work}/runs/`)
    .replace('ws://127.0.0.1:7070', url ?? '').split(/\s+/).filter(Boolean);
  expect(words.slice(0, 2)).toEqual(['npx', 'minnow']);
  return ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...words.slice(2)];
}

let server: ChildProcess | undefined;
afterAll(() => { server?.kill('SIGKILL'); spawnSync('rm', ['-rf', work]); });

beforeAll(async () => {
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=256', epochs: 1, batch: 16, lr: 3e-3, vocabSize: 400, out: path.dirname(teacherModel), dataOptions: { limit: 128 } });
});

describe('README.md', () => {
  const blocks = snippets();

  it('marks its three paths for this test', () => {
    expect([...blocks.keys()]).toEqual(['serve', 'distill', 'runtime']);
  });

  it('serve, then distill and compress through that server, then the runtime on the result', async () => {
    const serveArgs = localize(blocks.get('serve')!.trim()).map((w) => (w === '7070' ? '0' : w));
    server = spawn(process.execPath, serveArgs, { cwd: root });
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      server!.stderr!.on('data', (d: Buffer) => { err += d.toString(); const m = /serving (ws:\/\/\S+)/.exec(err); if (m) resolve(m[1]!); });
      server!.on('exit', (code) => reject(new Error(`teacher serve exited ${code}: ${err}`)));
    });

    for (const line of blocks.get('distill')!.trim().split('\n')) {
      const args = [...localize(line, url), ...(line.includes(' distill ') ? ['--epochs', '1', '--limit', '64'] : [])];
      const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 300_000 });
      expect(r.status, r.stderr).toBe(0);
    }

    const stopped = new Promise<number | null>((resolve) => server!.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await stopped).toBe(0);

    // Inside the repository, so that `onnxruntime-node` resolves as it does in an app.
    mkdirSync(path.join(root, 'tests/.tmp'), { recursive: true });
    const script = path.join(root, 'tests/.tmp', `readme-app-${process.pid}.ts`);
    writeFileSync(script, blocks.get('runtime')!
      .replace("'minnow/runtime'", `'${path.join(root, 'runtime/index.ts')}'`)
      .replace('runs/spam/student.onnx', path.join(work, 'runs/student/int4.onnx')));
    const app = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    rmSync(script);
    expect(app.status, app.stderr).toBe(0);
    expect(app.stdout.trim()).toMatch(/^(ham|spam) (0\.\d{3}|1\.000)$/);
  });
});
