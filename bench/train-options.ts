// Which onnxruntime session options a training step wants: the graph optimization level, intra-op
// threads, and parallel execution of independent nodes, at the teacher and student sizes of
// bench/train.ts. One process per row (bench/train-minnow.ts), the trainer's defaults first.
//   npx tsx bench/train-options.ts [--steps 6] [--sizes teacher,student]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SIZES } from './train-sizes.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '6' }, sizes: { type: 'string', default: 'teacher,student' } } });
const VARIANTS: [string, Record<string, unknown>][] = [
  ['defaults: optimization all, 2 intra-op threads, sequential', {}],
  ['optimization extended', { optimization: 'extended' }],
  ['optimization basic', { optimization: 'basic' }],
  ['optimization disabled', { optimization: 'disabled' }],
  ['1 intra-op thread', { threads: 1 }],
  ['parallel: 2 inter-op x 1 intra-op threads', { threads: 1, interOpThreads: 2 }],
  ['parallel: 2 inter-op x 2 intra-op threads', { interOpThreads: 2 }],
];

console.log('| size | session options | samples/s | vs defaults | peak RSS | final loss |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const size of values.sizes.split(',')) {
  let base = 0;
  for (const [label, variant] of VARIANTS) {
    const cfg = { ...SIZES[size]!, steps: Number(values.steps), warmup: 2, threads: 2, ...variant };
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/train-minnow.ts', JSON.stringify(cfg)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { samples_per_s: number; peak_rss_mb: number; final_loss: number };
    base ||= out.samples_per_s;
    console.log(`| ${size} | ${label} | ${out.samples_per_s.toFixed(1)} | ${(out.samples_per_s / base).toFixed(2)}x | ${Math.round(out.peak_rss_mb)} MB | ${out.final_loss.toFixed(5)} |`);
  }
}
