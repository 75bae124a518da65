// Soft labels per second through the teacher server with 1, 4 and 16 clients, against the same
// model run in-process at the batcher's best batch size (the upper bound), in one run.
//   npx tsx bench/serve.ts [--seconds 6] [--seq 64] [--rows 4]
// The server runs in its own process (`minnow teacher serve`); clients pipeline requests of
// --rows sequences each. Latency is per request, from send to answer.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../src/nn/models.js';
import { encodeModel } from '../src/onnx/codec.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { Tensor } from '../src/onnx/tensor.js';
import { META } from '../src/format/metadata.js';
import { TeacherClient } from '../student/teacher-client.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '6' }, seq: { type: 'string', default: '64' }, rows: { type: 'string', default: '4' }, 'max-batch': { type: 'string', default: '64' } } });
const seconds = Number(values.seconds), seq = Number(values.seq), rowsPerRequest = Number(values.rows), maxBatch = Number(values['max-batch']);
const VOCAB = 4000;

// The spam student's shape at teacher-ish width: 2 layers, dim 256.
const model = buildModel({ kind: 'transformer', layers: 2, dim: 256, heads: 4, ff: 1024, ctx: 128 }, { task: 'classify', vocabSize: VOCAB, numClasses: 2 }, { seed: 1 });
model.graph.metadata.set(META.task, 'classify');
model.graph.metadata.set(META.preprocessing, JSON.stringify({ kind: 'text', max_length: 128, pad_id: 0, truncation: 'right' }));
const dir = mkdtempSync(path.join(tmpdir(), 'minnow-bench-serve-'));
const file = path.join(dir, 'model.onnx');
writeFileSync(file, encodeModel(model.graph));

const tokens = (n: number) => { const a = new BigInt64Array(n); for (let i = 0; i < n; i++) a[i] = BigInt(1 + ((i * 7919) % (VOCAB - 1))); return a; };

// Upper bound: the model alone, at each batch size the batcher could form.
const session = await createSession(readFileSync(file));
const bound: Record<number, number> = {};
for (const b of [1, 8, 16, 32, 64].filter((b) => b <= maxBatch)) {
  const feeds = { input_ids: new Tensor('int64', [b, seq], tokens(b * seq)), attention_mask: new Tensor('int64', [b, seq], new BigInt64Array(b * seq).fill(1n)) };
  await run(session, feeds);
  const start = performance.now();
  let rows = 0;
  while (performance.now() - start < 2000) { await run(session, feeds); rows += b; }
  bound[b] = rows / ((performance.now() - start) / 1000);
}
await session.release();
const [bestBatch, bestRate] = Object.entries(bound).sort((a, b) => b[1] - a[1])[0]!;

const server = spawn(process.execPath, ['--import', 'tsx', path.join(path.dirname(new URL(import.meta.url).pathname), '../src/cli/main.ts'), 'teacher', 'serve', file, '--port', '0', '--max-batch', String(maxBatch), '--max-wait-ms', '2', '--max-inflight', '64'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const url = await new Promise<string>((resolve) => server.stderr.on('data', (d) => { log += d; const m = /serving (ws:\/\/\S+)/.exec(log); if (m) resolve(m[1]!); }));

async function load(clients: number): Promise<{ rowsPerSec: number; p50: number; p99: number }> {
  const conns = await Promise.all(Array.from({ length: clients }, () => TeacherClient.connect({ urls: [url] })));
  const inputs = { input_ids: { dtype: 'int64' as const, dims: [rowsPerRequest, seq], data: tokens(rowsPerRequest * seq) }, attention_mask: { dtype: 'int64' as const, dims: [rowsPerRequest, seq], data: new BigInt64Array(rowsPerRequest * seq).fill(1n) } };
  const latencies: number[] = [];
  let rows = 0;
  const end = performance.now() + seconds * 1000;
  // Each client keeps enough requests in flight to fill a batch on its own.
  const depth = Math.max(2, Math.ceil(maxBatch / rowsPerRequest / clients) + 1);
  await Promise.all(conns.map(async (c) => {
    await Promise.all(Array.from({ length: depth }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await c.infer(inputs, { temperature: 2 });
        latencies.push(performance.now() - t);
        rows += rowsPerRequest;
      }
    }));
  }));
  const elapsed = seconds + (performance.now() - end) / 1000;
  await Promise.all(conns.map((c) => c.close()));
  latencies.sort((a, b) => a - b);
  return { rowsPerSec: rows / elapsed, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]! };
}

const results: Record<string, unknown> = {};
for (const clients of [1, 4, 16]) {
  const r = await load(clients);
  results[`clients_${clients}`] = { soft_labels_per_s: Number(r.rowsPerSec.toFixed(1)), ratio_to_bound: Number((r.rowsPerSec / bestRate).toFixed(3)), p50_ms: Number(r.p50.toFixed(1)), p99_ms: Number(r.p99.toFixed(1)) };
}
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10),
  model: 'transformer classifier, 2 layers, dim 256, vocab 4000', seq, rows_per_request: rowsPerRequest, max_batch: maxBatch,
  in_process_rows_per_s: Object.fromEntries(Object.entries(bound).map(([k, v]) => [k, Number(v.toFixed(1))])),
  bound: { batch: Number(bestBatch), rows_per_s: Number(bestRate.toFixed(1)) },
  ...results,
}, null, 2));
