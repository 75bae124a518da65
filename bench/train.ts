// Training throughput and peak memory: minnow vs PyTorch on the same Transformer LM step, side by side
// in one run, at three sizes (a teacher, a student, and the original 4-layer bench model), and
// minnow again with --recompute.
//   npx tsx bench/train.ts [--steps 10] [--rounds 2] [--threads 2] [--sizes teacher,student,bench]
// Each implementation runs in its own process (so peak RSS is its own), alternating rounds to
// spread machine noise; the ratio of medians is what to quote. PyTorch comes from Debian's
// python3-torch run by /usr/bin/python3; without it the script says so and reports minnow alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SIZES } from './train-sizes.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' }, sizes: { type: 'string', default: 'teacher,student,bench' } } });
const common = { steps: Number(values.steps), warmup: 3, threads: Number(values.threads) };
const here = path.dirname(new URL(import.meta.url).pathname);
const python = '/usr/bin/python3';

function runWorker(cmd: string, args: string[]): Record<string, number | string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(common.threads) } });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.error('PyTorch not found (apt-get install python3-torch libopenblas0-pthread); reporting minnow alone');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (rows: Record<string, number | string>[]) => rows.length === 0 ? undefined : {
  samples_per_s: median(rows.map((r) => r.samples_per_s as number)),
  peak_rss_mb: Math.round(Math.max(...rows.map((r) => r.peak_rss_mb as number))),
  params: rows[0]!.params,
  runs: rows.map((r) => Number((r.samples_per_s as number).toFixed(2))),
};
const sizes: Record<string, unknown> = {};
for (const size of values.sizes!.split(',')) {
  const cfg = { ...SIZES[size]!, ...common };
  const results: Record<string, Record<string, number | string>[]> = { minnow: [], recompute: [], pytorch: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    results.minnow!.push(runWorker(process.execPath, ['--import', 'tsx', path.join(here, 'train-minnow.ts'), JSON.stringify(cfg)]));
    results.recompute!.push(runWorker(process.execPath, ['--import', 'tsx', path.join(here, 'train-minnow.ts'), JSON.stringify({ ...cfg, recompute: true })]));
    if (hasTorch) results.pytorch!.push(runWorker(python, [path.join(here, 'train_torch.py'), JSON.stringify(cfg)]));
  }
  const m = summary(results.minnow!)!, r = summary(results.recompute!)!, t = summary(results.pytorch!);
  sizes[size] = {
    config: cfg, minnow: m, minnow_recompute: r, pytorch: t ?? 'not installed',
    recompute_rss_over_pytorch: t ? Number((r.peak_rss_mb / t.peak_rss_mb).toFixed(3)) : null,
    speed_minnow_over_pytorch: t ? Number((m.samples_per_s / t.samples_per_s).toFixed(3)) : null,
    rss_minnow_over_pytorch: t ? Number((m.peak_rss_mb / t.peak_rss_mb).toFixed(3)) : null,
  };
}
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), sizes }, null, 2));
