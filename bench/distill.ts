// Student steps per second: online (soft labels from a live teacher, pipelined) against offline
// (the same soft labels from the disk cache), in one run. Also online without lookahead, to show
// what pipelining buys.
//   npx tsx bench/distill.ts [--steps 60]
// The teacher runs in its own process with one onnxruntime thread and the student with one, so
// each has a core of this 2-core machine, as a teacher on its own host would.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../src/nn/models.js';
import { encodeModel } from '../src/onnx/codec.js';
import { META } from '../src/format/metadata.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON, trainBpe } from '../src/data/tokenizers/index.js';
import { distill } from '../student/distill.js';
import type { TrainEvent } from '../src/train/job.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '60' } } });
const steps = Number(values.steps);
const dir = mkdtempSync(path.join(tmpdir(), 'minnow-bench-distill-'));

// Teacher: a Transformer classifier (2 layers, dim 128) with the spam BPE tokenizer; its weights
// are untrained, which does not change the cost of serving them.
const data = loadDataset('spam', 'classify', { limit: 1500 });
if (data.task !== 'classify') throw new Error('unreachable');
const tokenizer = tokenizerFromJSON(trainBpe(data.splits.train.map((e) => e.text).join('\n'), { vocabSize: 2000, minFrequency: 2 }));
const teacher = buildModel({ kind: 'transformer', layers: 2, dim: 128, heads: 4, ff: 512, ctx: 128 }, { task: 'classify', vocabSize: tokenizer.vocabSize, numClasses: 2 }, { seed: 1 });
teacher.graph.metadata.set(META.task, 'classify');
teacher.graph.metadata.set(META.labels, JSON.stringify(['ham', 'spam']));
teacher.graph.metadata.set(META.tokenizer, JSON.stringify(tokenizer.toJSON()));
teacher.graph.metadata.set(META.preprocessing, JSON.stringify({ kind: 'text', max_length: 128, pad_id: 0, truncation: 'right' }));
const teacherFile = path.join(dir, 'teacher.onnx');
writeFileSync(teacherFile, encodeModel(teacher.graph));

const server = spawn(process.execPath, ['--import', 'tsx', path.join(path.dirname(new URL(import.meta.url).pathname), '../src/cli/main.ts'), 'teacher', 'serve', teacherFile, '--port', '0', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const url = await new Promise<string>((resolve) => server.stderr.on('data', (d) => { log += d; const m = /serving (ws:\/\/\S+)/.exec(log); if (m) resolve(m[1]!); }));

async function timed(label: string, options: { offline?: boolean; prefetch?: number; cacheDir: string }) {
  const marks: number[] = [];
  let wait = 0;
  const report = await distill({
    teachers: [url], data: 'spam', student: 'transformer:layers=2,dim=64,heads=2,ff=256,ctx=128', epochs: 1, batch: 32, seed: 1,
    out: mkdtempSync(path.join(dir, 'run-')), maxSteps: steps, threads: 1, dataOptions: { limit: 1500 }, checkpointEvery: 10_000,
    onEvent: (e: TrainEvent) => { if (e.type === 'step') { marks.push(performance.now()); wait = e.teacherWaitShare ?? 0; } },
    ...options,
  });
  // Steady state: from the 5th step on.
  const rate = (marks.length - 5) / ((marks.at(-1)! - marks[4]!) / 1000);
  return { label, steps_per_s: Number(rate.toFixed(2)), teacher_wait_share: Number((report.teacher_wait_share ?? wait).toFixed(3)) };
}

const cache = mkdtempSync(path.join(dir, 'cache-'));
const online = await timed('online, prefetch 8', { cacheDir: cache, prefetch: 8 });
const offline = await timed('offline (warm cache)', { cacheDir: cache, offline: true });
const unpipelined = await timed('online, prefetch 1', { cacheDir: mkdtempSync(path.join(dir, 'cache-')), prefetch: 1 });
server.kill('SIGTERM');
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10), steps, runs: [online, offline, unpipelined],
  ratio_online_over_offline: Number((online.steps_per_s / offline.steps_per_s).toFixed(3)),
  ratio_unpipelined_over_offline: Number((unpipelined.steps_per_s / offline.steps_per_s).toFixed(3)),
}, null, 2));
