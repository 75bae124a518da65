// Small teacher models written to disk, and a raw WebSocket client for protocol tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { buildModel, type ArchConfig, type ModelShape } from '../../src/nn/models.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { META } from '../../src/format/metadata.js';
import { encodeFrame, decodeFrame } from '../../src/protocol/codec.js';
import type { ServerMessage } from '../../src/protocol/messages.js';

export function writeTeacherModel(kind: 'classify' | 'lm' | 'image', options: { vocab?: number; ctx?: number; seed?: number } = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'minnow-teacher-'));
  const ctx = options.ctx ?? 32;
  let arch: ArchConfig, shape: ModelShape;
  if (kind === 'image') { arch = { kind: 'mlp', hidden: [16] }; shape = { task: 'image', numClasses: 10, imageShape: [1, 8, 8] }; }
  else { arch = { kind: 'transformer', layers: 2, dim: 32, heads: 4, ff: 64, ctx }; shape = { task: kind, vocabSize: options.vocab ?? 50, numClasses: 3 }; }
  const model = buildModel(arch, shape, { seed: options.seed ?? 1 });
  model.graph.metadata.set(META.task, kind);
  if (kind !== 'lm') model.graph.metadata.set(META.labels, JSON.stringify(kind === 'image' ? [...'0123456789'] : ['a', 'b', 'c']));
  if (kind !== 'image') model.graph.metadata.set(META.preprocessing, JSON.stringify({ kind: 'text', max_length: ctx, pad_id: 0, truncation: 'right' }));
  const file = path.join(dir, 'model.onnx');
  writeFileSync(file, encodeModel(model.graph));
  return file;
}

/** A bare protocol client: send anything, read replies in order. */
export class RawClient {
  private readonly queue: ServerMessage[] = [];
  private readonly waiters: ((m: ServerMessage) => void)[] = [];
  closeCode: number | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = decodeFrame(d as Buffer) as ServerMessage;
      const w = this.waiters.shift();
      if (w) w(m); else this.queue.push(m);
    });
    ws.on('close', (code) => { this.closeCode = code; });
  }
  static open(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 1 << 30 });
      ws.once('open', () => resolve(new RawClient(ws)));
      ws.once('error', reject);
    });
  }
  send(message: unknown): void { this.ws.send(encodeFrame(message)); }
  sendBytes(bytes: Uint8Array): void { this.ws.send(bytes); }
  next(timeoutMs = 10_000): Promise<ServerMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      this.waiters.push((x) => { clearTimeout(t); resolve(x); });
    });
  }
  async hello(token?: string): Promise<ServerMessage> { this.send({ type: 'hello', id: 0, version: 1, token }); return this.next(); }
  close(): void { this.ws.terminate(); }
}

export function ids(rows: number, seq: number, vocab: number, seed: number): BigInt64Array {
  const out = new BigInt64Array(rows * seq);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; out[i] = BigInt(1 + (s % (vocab - 1))); }
  return out;
}

/** `minnow teacher serve` as a child process, once it says where it serves. */
export async function spawnTeacher(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const root = path.resolve(__dirname, '../..');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'teacher', 'serve', ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no start line: ${stderr}`)), 60_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      const m = /serving (ws:\/\/[^ ]+)/.exec(stderr);
      if (m) { clearTimeout(t); resolve(m[1]!); }
    });
    child.on('exit', (code) => reject(new Error(`teacher serve exited ${code}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}
