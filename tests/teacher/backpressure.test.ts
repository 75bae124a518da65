// Clients that stop reading cannot bloat the teacher: answers computed for a connection count
// against its byte budget (teacher/connection.ts), so its further requests wait instead of piling
// up 4 MB answers in memory, and a client that does read is still answered promptly.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { RawClient, ids, spawnTeacher, writeTeacherModel } from '../helpers/teacher-fixture.js';

const VOCAB = 4000, CTX = 256;
/** What four non-reading clients may add to the server's memory (docs/protocol.md). */
const BOUND_MB = 256;

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return Number(kb) / 1024;
}

async function latencyMs(c: RawClient, id: number): Promise<number> {
  const started = performance.now();
  c.send({ type: 'infer', id, version: 1, top_k: 32, inputs: { input_ids: { dtype: 'int64', dims: [1, 64], data: ids(1, 64, VOCAB, id) } } });
  expect(await c.next()).toMatchObject({ type: 'soft', id });
  return performance.now() - started;
}

async function medianLatency(c: RawClient, from: number): Promise<number> {
  const times = [];
  for (let i = 0; i < 9; i++) times.push(await latencyMs(c, from + i));
  return times.sort((a, b) => a - b)[4]!;
}

describe('backpressure', () => {
  it('four clients that never read 32 answers of 4 MB each: memory stays bounded, a reading client is answered', async () => {
    const model = writeTeacherModel('lm', { vocab: VOCAB, ctx: CTX });
    const { child, url } = await spawnTeacher([model, '--port', '0', '--threads', '1']);
    try {
      const normal = await RawClient.open(url);
      await normal.hello();
      await medianLatency(normal, 1000); // warm
      const unloaded = await medianLatency(normal, 2000);
      const idle = rssMb(child.pid!);
      const hogs = await Promise.all(Array.from({ length: 4 }, () => RawClient.open(url)));
      for (const [k, c] of hogs.entries()) {
        await c.hello();
        (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
        // Full distributions: 256 positions x 4,000 tokens x 4 bytes = 4 MB an answer.
        for (let i = 0; i < 32; i++) c.send({ type: 'infer', id: i, version: 1, inputs: { input_ids: { dtype: 'int64', dims: [1, CTX], data: ids(1, CTX, VOCAB, k * 100 + i) } } });
      }
      let peak = idle;
      for (let t = 0; t < 30; t++) {
        await new Promise((r) => setTimeout(r, 100));
        peak = Math.max(peak, rssMb(child.pid!));
      }
      const loaded = await medianLatency(normal, 3000);
      peak = Math.max(peak, rssMb(child.pid!));
      for (const c of hogs) c.close();
      await new Promise((r) => setTimeout(r, 1500));
      const after = rssMb(child.pid!);
      expect(peak - idle, `idle ${idle.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`).toBeLessThan(BOUND_MB);
      expect(after - idle, `idle ${idle.toFixed(0)} MB, after ${after.toFixed(0)} MB`).toBeLessThan(BOUND_MB);
      expect(loaded, `unloaded ${unloaded.toFixed(1)} ms, loaded ${loaded.toFixed(1)} ms`).toBeLessThan(2 * unloaded + 2);
      normal.close();
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
