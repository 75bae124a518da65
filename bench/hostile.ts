// What hostile clients cost a normal one: the latency of small requests, alone and while five
// clients each send 12.8 MB frames of 100,000 rows (which the teacher refuses by size before
// decoding them), until all of those are answered, in one run against one
// `node dist/cli.js teacher serve` process. The hostile clients run in a process of their own, so
// that sending their frames does not slow the measuring client down.
//   npm run build && npx tsx bench/hostile.ts [--frames 4]
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { buildModel } from '../src/nn/models.js';
import { encodeModel } from '../src/onnx/codec.js';
import { META } from '../src/format/metadata.js';
import { encodeFrame, decodeFrame } from '../src/protocol/codec.js';

const { values } = parseArgs({ options: { frames: { type: 'string', default: '4' }, 'hostile-url': { type: 'string' } } });
const framesEach = Number(values.frames);
type Reply = { type: string; code?: string };

/** A raw client; a socket the teacher closes answers every later read with `closed <code>`. */
async function open(url: string): Promise<{ ws: WebSocket; next: () => Promise<Reply> }> {
  const ws = new WebSocket(url, { maxPayload: 1 << 30 });
  const queue: Reply[] = [], waiting: ((m: Reply) => void)[] = [];
  let closed: Reply | undefined;
  const deliver = (m: Reply) => { const w = waiting.shift(); if (w) w(m); else queue.push(m); };
  ws.on('message', (d) => deliver(decodeFrame(d as Buffer) as Reply));
  ws.on('error', () => {});
  ws.on('close', (code) => { closed = { type: 'closed', code: `closed ${code}` }; while (waiting.length) deliver(closed); });
  await new Promise((r) => ws.once('open', r));
  const next = (): Promise<Reply> => {
    if (queue.length) return Promise.resolve(queue.shift()!);
    if (closed) return Promise.resolve(closed);
    return new Promise((r) => waiting.push(r));
  };
  ws.send(encodeFrame({ type: 'hello', id: 0, version: 1 }));
  await next();
  return { ws, next };
}

/** The hostile process: five clients send their frames and print how each was answered. */
async function hostile(url: string): Promise<void> {
  const big = encodeFrame({ type: 'infer', id: 2, version: 1, inputs: { input_ids: { dtype: 'int64', dims: [100_000, 16], data: new BigInt64Array(1_600_000).fill(1n) } } });
  const clients = await Promise.all(Array.from({ length: 5 }, () => open(url)));
  const replies = await Promise.all(clients.map((h) => Promise.all(Array.from({ length: framesEach }, () => {
    if (h.ws.readyState === h.ws.OPEN) h.ws.send(big);
    return h.next();
  }))));
  console.log(JSON.stringify({ bytes: big.length, codes: replies.flat().map((m) => m.code ?? m.type) }));
  process.exit(0);
}

/** Latencies of small requests, one after another, until `until` settles (or n of them). */
async function latencies(c: Awaited<ReturnType<typeof open>>, until?: Promise<unknown>, n = 40): Promise<number[]> {
  const small = encodeFrame({ type: 'infer', id: 1, version: 1, inputs: { input_ids: { dtype: 'int64', dims: [1, 16], data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i + 1)) } } });
  let done = false;
  void until?.then(() => { done = true; });
  const times: number[] = [];
  while (until ? !done : times.length < n) {
    const t = performance.now();
    c.ws.send(small);
    await c.next();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}
const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

async function main(): Promise<void> {
  const VOCAB = 4000, CTX = 128;
  const model = buildModel({ kind: 'transformer', layers: 2, dim: 128, heads: 4, ff: 512, ctx: CTX }, { task: 'classify', vocabSize: VOCAB, numClasses: 2 }, { seed: 1 });
  model.graph.metadata.set(META.task, 'classify');
  model.graph.metadata.set(META.preprocessing, JSON.stringify({ kind: 'text', max_length: CTX, pad_id: 0, truncation: 'right' }));
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'minnow-hostile-')), 'model.onnx');
  writeFileSync(file, encodeModel(model.graph));
  const server = spawn(process.execPath, ['dist/cli.js', 'teacher', 'serve', file, '--port', '0', '--threads', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve) => server.stderr!.on('data', (d) => { err += d; const m = /serving (ws:\/\/\S+)/.exec(err); if (m) resolve(m[1]!); }));
  const normal = await open(url);
  await latencies(normal, undefined, 20); // warm
  const alone = await latencies(normal);
  const started = performance.now();
  const attacker = spawn(process.execPath, ['--import', 'tsx', process.argv[1]!, '--hostile-url', url, '--frames', String(framesEach)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  attacker.stdout!.on('data', (d) => { out += d; });
  const finished = new Promise((resolve) => attacker.on('exit', resolve));
  const during = await latencies(normal, finished);
  const burstMs = performance.now() - started;
  server.kill('SIGTERM');
  const { bytes, codes } = JSON.parse(out) as { bytes: number; codes: string[] };
  console.log(JSON.stringify({
    date: new Date().toISOString().slice(0, 10),
    hostile: `5 clients x ${framesEach} frames of ${(bytes / 1e6).toFixed(1)} MB (100,000 rows x 16 tokens), from another process`,
    answers: Object.fromEntries([...new Set(codes)].map((c) => [c, codes.filter((x) => x === c).length])),
    burst_ms: Number(burstMs.toFixed(0)),
    normal_ms: {
      alone: { p50: Number(pct(alone, 0.5).toFixed(2)), max: Number(alone.at(-1)!.toFixed(2)) },
      during: { requests: during.length, p50: Number(pct(during, 0.5).toFixed(2)), max: Number(during.at(-1)!.toFixed(2)) },
    },
  }, null, 2));
  process.exit(0);
}

if (values['hostile-url']) await hostile(values['hostile-url']);
else await main();
