// Training throughput: minnow vs PyTorch on the same Transformer LM step, side by side in one run.
//   npx tsx bench/train.ts [--steps 10] [--rounds 2] [--threads 2]
// Each implementation runs in its own process (so peak RSS is its own), alternating rounds to
// spread machine noise; the ratio of medians is what to quote. PyTorch comes from Debian's
// python3-torch run by /usr/bin/python3; without it the script says so and reports minnow alone.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '10' }, rounds: { type: 'string', default: '2' }, threads: { type: 'string', default: '2' } } });
const cfg = { layers: 4, dim: 256, heads: 4, ff: 1024, ctx: 128, batch: 32, vocab: 256, steps: Number(values.steps), warmup: 3, threads: Number(values.threads) };
const here = path.dirname(new URL(import.meta.url).pathname);
const python = '/usr/bin/python3';

function runWorker(cmd: string, args: string[]): Record<string, number | string> {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(cfg.threads) } });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const hasTorch = existsSync(python) && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!hasTorch) console.error('PyTorch not found (apt-get install python3-torch libopenblas0-pthread); reporting minnow alone');

const results: Record<string, Record<string, number | string>[]> = { minnow: [], pytorch: [] };
for (let round = 0; round < Number(values.rounds); round++) {
  results.minnow!.push(runWorker(process.execPath, ['--import', 'tsx', path.join(here, 'train-minnow.ts'), JSON.stringify(cfg)]));
  if (hasTorch) results.pytorch!.push(runWorker(python, [path.join(here, 'train_torch.py'), JSON.stringify(cfg)]));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (rows: Record<string, number | string>[]) => rows.length === 0 ? undefined : {
  samples_per_s: median(rows.map((r) => r.samples_per_s as number)),
  peak_rss_mb: Math.max(...rows.map((r) => r.peak_rss_mb as number)),
  params: rows[0]!.params,
  runs: rows.map((r) => Number((r.samples_per_s as number).toFixed(2))),
};
const m = summary(results.minnow!)!, t = summary(results.pytorch!);
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10), config: cfg, minnow: m, pytorch: t ?? 'not installed',
  ratio_minnow_over_pytorch: t ? Number((m.samples_per_s / t.samples_per_s).toFixed(3)) : null,
}, null, 2));
