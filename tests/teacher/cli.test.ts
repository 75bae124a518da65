// `minnow teacher train` and `minnow teacher serve` as processes, including SIGTERM under load.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RawClient, ids, spawnTeacher, writeTeacherModel } from '../helpers/teacher-fixture.js';

const root = path.resolve(__dirname, '../..');
const cli = ['--import', 'tsx', path.join(root, 'src/cli/main.ts')];

describe('minnow teacher train', () => {
  it('trains a ViT teacher and writes the same outputs as minnow train', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'minnow-tt-'));
    const r = spawnSync(process.execPath, [...cli, 'teacher', 'train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'vit:layers=1,dim=16,heads=2,ff=32,patch=7', '--limit', '256', '--batch', '32', '--lr', '0.003', '--out', out], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ task: 'image', model: 'vit:layers=1,dim=16,heads=2,ff=32,patch=7', steps: 8 });
    expect(report.metrics.accuracy).toBeGreaterThan(0.2);
  });
});

describe('minnow teacher serve', () => {
  it('SIGTERM under load: every request gets its answer (or shutting_down if it came late), exit 0', async () => {
    const model = writeTeacherModel('lm', { vocab: 50, ctx: 16 });
    const { child, url, stderr } = await spawnTeacher([model, '--port', '0', '--max-batch', '8']);
    const clients = await Promise.all(Array.from({ length: 4 }, () => RawClient.open(url)));
    for (const c of clients) expect(await c.hello()).toMatchObject({ type: 'info' });
    const perClient = 30;
    clients.forEach((c, k) => {
      for (let i = 0; i < perClient; i++) c.send({ type: 'infer', id: i, version: 1, inputs: { input_ids: { dtype: 'int64', dims: [2, 12], data: ids(2, 12, 50, k * 1000 + i) } } });
    });
    // Wait for the first answers so that the server is mid-load, then signal.
    const first = await clients[0]!.next();
    expect(first.type).toBe('soft');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    let soft = 1, late = 0;
    for (const [k, c] of clients.entries()) {
      for (let i = k === 0 ? 1 : 0; i < perClient; i++) {
        const reply = await c.next(20_000);
        if (reply.type === 'soft') soft++;
        else { expect(reply).toMatchObject({ type: 'error', code: 'shutting_down' }); late++; }
      }
    }
    expect(soft + late).toBe(4 * perClient);
    expect(soft).toBeGreaterThan(perClient);
    expect(await exited).toBe(0);
    for (const c of clients) expect(c.closeCode).toBe(1001);
    expect(stderr()).toMatch(/SIGTERM: answering requests in flight/);
  });

  it('started by npx (npm exec), it stops when npx exits without passing SIGTERM on', async () => {
    const model = writeTeacherModel('lm', { vocab: 50, ctx: 16 });
    // npx runs the bin as its child with npm_command=exec, and dies on SIGTERM without forwarding it.
    const server = [...cli, 'teacher', 'serve', model, '--port', '0'];
    const launcher = `require('node:child_process').spawn(process.execPath, ${JSON.stringify(server)}, { stdio: 'inherit', env: { ...process.env, npm_command: 'exec' } })`;
    const npx = spawn(process.execPath, ['-e', launcher], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    npx.stderr.on('data', (d) => { stderr += d; });
    for (let i = 0; i < 600 && !/serving ws:/.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
    const port = Number(/serving ws:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    npx.kill('SIGKILL');
    const refused = async () => new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(false); });
      socket.on('error', () => resolve(true));
    });
    let closed = false;
    for (let i = 0; i < 50 && !closed; i++) { await new Promise((r) => setTimeout(r, 100)); closed = await refused(); }
    expect(closed).toBe(true);
    expect(stderr).toMatch(/npx exited without passing its signal on: answering requests in flight, then stopping/);
  });
});
