// Magnitude pruning during training: masks in the training graph keep pruned weights at zero, the
// cubic schedule reaches its target, and resume keeps the masks.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { train, sparsityAt, type TrainEvent } from '../../src/train/job.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-prune-'));

describe('pruning schedule', () => {
  it('ramps cubically from start to end and holds the target', () => {
    const s = { sparsity: 0.5, start: 0.2, end: 0.6 };
    expect(sparsityAt(10, 100, s)).toBe(0);
    expect(sparsityAt(20, 100, s)).toBe(0);
    expect(sparsityAt(40, 100, s)).toBeCloseTo(0.5 * (1 - 0.5 ** 3));
    expect(sparsityAt(60, 100, s)).toBeCloseTo(0.5);
    expect(sparsityAt(99, 100, s)).toBeCloseTo(0.5);
  });
});

describe('train --prune', () => {
  it('reaches the target sparsity on MatMul weights, keeps pruned weights at zero, and still learns', async () => {
    const out = tmp();
    const losses: number[] = [];
    const report = await train({
      task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=64', epochs: 2, batch: 32, lr: 3e-3, out,
      dataOptions: { limit: 640 }, prune: { sparsity: 0.6, start: 0.1, end: 0.5 },
      onEvent: (e: TrainEvent) => { if (e.type === 'step') losses.push(e.loss); },
    });
    expect(report.sparsity).toBeGreaterThan(0.599);
    expect(report.sparsity).toBeLessThan(0.62);
    const ckpt = await loadCheckpoint(path.join(out, 'checkpoint'));
    const w = ckpt.params.get('fc0.weight')!.data as Float32Array;
    const zeros = w.filter((v) => v === 0).length / w.length;
    expect(zeros).toBeGreaterThan(0.3);
    // Biases are not pruned.
    expect((ckpt.params.get('fc0.bias')!.data as Float32Array).some((v) => v !== 0)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect((report.metrics as { accuracy: number }).accuracy).toBeGreaterThan(0.6);
  });

  it('the CLI takes --prune and --prune-schedule, and rejects a bad schedule', () => {
    const root = path.resolve(__dirname, '../..');
    const cli = (...a: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...a], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    const ok = cli('train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'mlp:hidden=16', '--limit', '320', '--prune', '0.5', '--prune-schedule', '0.1:0.5', '--out', tmp());
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).sparsity).toBeGreaterThan(0.499);
    const bad = cli('train', '--task', 'image', '--data', 'fashion-mnist', '--prune', '0.5', '--prune-schedule', '0.7:0.2', '--out', tmp());
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--prune-schedule must be START:END/);
  });
});
