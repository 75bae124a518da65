// Soft labels per second from 1, 2 and 3 teacher replicas behind the student client's balancing
// (each request to the replica with the fewest in flight), on loopback. Each replica is a
// `node dist/cli.js teacher serve` process with one onnxruntime thread; the client sends
// pre-tokenised requests so that what is measured is the teachers. Rounds alternate the replica
// counts, and the ratios are of medians against one replica in the same run.
//   npm run build && npx tsx bench/fleet.ts [--requests 120] [--rows 16] [--rounds 2]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildModel } from '../src/nn/models.js';
import { encodeModel } from '../src/onnx/codec.js';
import { stampWeightsDigest } from '../src/onnx/digest.js';
import { META } from '../src/format/metadata.js';
import { TeacherClient } from '../student/teacher-client.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '120' }, rows: { type: 'string', default: '16' }, rounds: { type: 'string', default: '2' } } });
const requests = Number(values.requests), rows = Number(values.rows), rounds = Number(values.rounds);
const VOCAB = 4000, SEQ = 128;
const MODEL_SPEC = 'transformer:layers=4,dim=256,heads=4,ff=1024,ctx=128';

/** A teacher-sized text classifier (random weights: the cost is the same). */
function writeTeacher(): string {
  const model = buildModel({ kind: 'transformer', layers: 4, dim: 256, heads: 4, ff: 1024, ctx: SEQ }, { task: 'classify', vocabSize: VOCAB, numClasses: 2 }, { seed: 1 });
  const meta = { [META.task]: 'classify', [META.model]: MODEL_SPEC, [META.labels]: '["ham","spam"]', [META.preprocessing]: JSON.stringify({ kind: 'text', max_length: SEQ, pad_id: 0, truncation: 'right' }) };
  for (const [k, v] of Object.entries(meta)) model.graph.metadata.set(k, v);
  stampWeightsDigest(model.graph);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'minnow-fleet-')), 'model.onnx');
  writeFileSync(file, encodeModel(model.graph));
  return file;
}

function serve(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['dist/cli.js', 'teacher', 'serve', file, '--port', '0', '--threads', '1', '--max-batch', String(rows)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      err += d;
      const m = /serving (ws:\/\/\S+)/.exec(err);
      if (m) resolve({ child, url: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`teacher serve exited ${code}: ${err}`)));
  });
}

function request(seed: number) {
  const data = new BigInt64Array(rows * SEQ);
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = BigInt(1 + (s % (VOCAB - 1))); }
  return { input_ids: { dtype: 'int64' as const, dims: [rows, SEQ], data } };
}

/** Soft labels (rows) per second through `replicas` teachers. */
async function measure(file: string, replicas: number): Promise<number> {
  const servers = await Promise.all(Array.from({ length: replicas }, () => serve(file)));
  try {
    const client = await TeacherClient.connect({ urls: servers.map((s) => s.url) });
    while (client.connected.length < replicas) await new Promise((r) => setTimeout(r, 20));
    const inputs = Array.from({ length: 8 }, (_, i) => request(i));
    await Promise.all(Array.from({ length: 4 * replicas }, (_, i) => client.infer(inputs[i % 8]!))); // warm every replica
    const started = performance.now();
    await Promise.all(Array.from({ length: requests }, (_, i) => client.infer(inputs[i % 8]!)));
    const seconds = (performance.now() - started) / 1000;
    await client.close();
    return (requests * rows) / seconds;
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const file = writeTeacher();
const counts = [1, 2, 3];
const perRound: Record<number, number[]> = { 1: [], 2: [], 3: [] };
for (let round = 0; round < rounds; round++) {
  for (const n of round % 2 ? [...counts].reverse() : counts) {
    perRound[n]!.push(await measure(file, n));
    process.stderr.write(`round ${round + 1}: ${n} replica(s) ${perRound[n]!.at(-1)!.toFixed(1)} soft labels/s\n`);
  }
}
const one = median(perRound[1]!);
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10),
  teacher: `${MODEL_SPEC}, vocab ${VOCAB}, one onnxruntime thread per replica`,
  request: `${rows} rows x ${SEQ} tokens`, requests, rounds,
  replicas: Object.fromEntries(counts.map((n) => [n, { soft_labels_per_s: perRound[n]!.map((x) => Number(x.toFixed(1))), ratio_vs_one: Number((median(perRound[n]!) / one).toFixed(2)) }])),
}, null, 2));
