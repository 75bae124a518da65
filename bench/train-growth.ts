// How peak memory grows with batch size and with sequence length, for minnow (with and without
// --recompute) and PyTorch, at teacher size (6 layers, dim 384, vocab 4,000): one process per
// point, so each peak RSS is its own. What fits on a machine can be read off the table.
//   npx tsx bench/train-growth.ts [--steps 3]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '3' } } });
const here = path.dirname(fileURLToPath(import.meta.url));
const python = '/usr/bin/python3';
const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.error('PyTorch not found (apt-get install python3-torch libopenblas0-pthread); reporting minnow alone');

const base = { layers: 6, dim: 384, heads: 6, ff: 1536, vocab: 4000, steps: Number(values.steps), warmup: 1, threads: 2 };
const POINTS = [
  ...[4, 8, 16, 32].map((batch) => ({ batch, ctx: 128 })),
  ...[32, 64, 256].map((ctx) => ({ batch: 8, ctx })),
];

function peak(cmd: string, args: string[]): number {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '2' } });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return Math.round((JSON.parse(r.stdout.trim().split('\n').pop()!) as { peak_rss_mb: number }).peak_rss_mb);
}

const rows = POINTS.map((point) => {
  const cfg = JSON.stringify({ ...base, ...point });
  const recompute = JSON.stringify({ ...base, ...point, recompute: true });
  return {
    ...point,
    minnow_mb: peak(process.execPath, ['--import', 'tsx', path.join(here, 'train-minnow.ts'), cfg]),
    minnow_recompute_mb: peak(process.execPath, ['--import', 'tsx', path.join(here, 'train-minnow.ts'), recompute]),
    pytorch_mb: hasTorch ? peak(python, [path.join(here, 'train_torch.py'), cfg]) : null,
  };
});
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), model: base, rows }, null, 2));
