// Bad input never takes the server down: every bad frame gets an `error` with a code, and a good
// request is still answered afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { encodeFrame } from '../../src/protocol/codec.js';
import { Rng } from '../../src/format/rng.js';
import { RawClient, ids, writeTeacherModel } from '../helpers/teacher-fixture.js';

const VOCAB = 50;
let server: TeacherServer;

beforeAll(async () => {
  server = await serveTeacher({ model: writeTeacherModel('lm', { vocab: VOCAB, ctx: 16 }), port: 0, logger: false, maxBatch: 8, maxInflight: 4, maxPayload: 32 * 1024 });
});
afterAll(async () => { await server?.close(); });

const good = (id: number, rows = 1, seq = 4) => ({ type: 'infer', id, version: 1, inputs: { input_ids: { dtype: 'int64', dims: [rows, seq], data: ids(rows, seq, VOCAB, id) } } });

async function ready(): Promise<RawClient> {
  const c = await RawClient.open(server.url);
  expect(await c.hello()).toMatchObject({ type: 'info', task: 'lm', vocab_size: VOCAB });
  return c;
}

async function stillServes(): Promise<void> {
  const c = await ready();
  c.send(good(4242, 2, 5));
  expect(await c.next()).toMatchObject({ type: 'soft', id: 4242, dims: [2, 5] });
  c.close();
}

describe('bad requests get errors with codes', () => {
  const cases: [string, (c: RawClient) => void, RegExp | string][] = [
    ['random bytes', (c) => c.sendBytes(new Uint8Array([0xc1, 0xff, 0x00, 0x13, 0x37])), 'bad_frame'],
    ['a text frame', (c) => c.ws.send('hello'), 'bad_frame'],
    ['msgpack that is not a message', (c) => c.send([1, 2, 3]), 'bad_request'],
    ['wrong field types', (c) => c.send({ type: 'infer', id: 1, version: 1, inputs: { input_ids: { dtype: 'int64', dims: 'x', data: 5 } } }), 'bad_request'],
    ['an unknown type', (c) => c.send({ type: 'train', id: 1, version: 1 }), 'bad_request'],
    ['dims that do not match the data', (c) => c.send({ ...good(1), inputs: { input_ids: { dtype: 'int64', dims: [2, 4], data: ids(1, 4, VOCAB, 1) } } }), 'bad_input'],
    ['a wrong rank', (c) => c.send({ ...good(1), inputs: { input_ids: { dtype: 'int64', dims: [4], data: ids(1, 4, VOCAB, 1) } } }), 'bad_input'],
    ['token ids >= vocab', (c) => c.send({ ...good(1), inputs: { input_ids: { dtype: 'int64', dims: [1, 2], data: new BigInt64Array([3n, BigInt(VOCAB)]) } } }), 'bad_input'],
    ['negative ids', (c) => c.send({ ...good(1), inputs: { input_ids: { dtype: 'int32', dims: [1, 2], data: new Int32Array([-1, 3]) } } }), 'bad_input'],
    ['a sequence past the context', (c) => c.send(good(1, 1, 17)), 'bad_input'],
    ['an unknown input', (c) => c.send({ ...good(1), inputs: { ...good(1).inputs, pixels: { dtype: 'float32', dims: [1, 1], data: new Float32Array(1) } } }), 'bad_input'],
    ['a batch over --max-batch', (c) => c.send(good(1, 9, 4)), 'batch_too_large'],
    ['a temperature that underflows (5e-324 gave NaN soft labels)', (c) => c.send({ ...good(1), temperature: 5e-324 }), 'bad_request'],
    ['a temperature of 1e-300 (gave -Infinity)', (c) => c.send({ ...good(1), temperature: 1e-300 }), 'bad_request'],
    // 100 rows of 16 tokens: more than max_batch 8 could ever send, so refused by size, undecoded.
    ['a frame larger than any request this model takes', (c) => c.send(good(1, 100, 16)), 'too_large'],
    ['a frame over --max-payload', (c) => c.sendBytes(encodeFrame({ ...good(1), pad: new Uint8Array(40 * 1024) })), 'too_large'],
  ];
  for (const [name, act, code] of cases) {
    it(name, async () => {
      const c = await ready();
      act(c);
      const reply = await c.next();
      expect(reply).toMatchObject({ type: 'error', code });
      expect((reply as { message: string }).message.length).toBeGreaterThan(5);
      c.close();
      await stillServes();
    });
  }

  it('an id over 64 characters is not echoed back: the error answers id null, in a short frame', async () => {
    const c = await ready();
    c.send({ ...good(1), id: 'x'.repeat(2_000), top_k: -1 });
    const reply = await c.next() as { type: string; id: unknown; message: string };
    expect(reply).toMatchObject({ type: 'error', id: null, code: 'bad_request' });
    expect(reply.message.length).toBeLessThan(200);
    c.close();
  });

  it('10k requests without reading the answers: busy errors, bounded buffers, server lives', async () => {
    const c = await ready();
    // Pause reading so the server's replies pile up on its side.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const frame = encodeFrame(good(1, 1, 4));
    for (let i = 0; i < 10_000; i++) c.ws.send(frame);
    await new Promise((r) => setTimeout(r, 1500));
    await stillServes();
    const text = await server.metrics.text();
    expect(text).toMatch(/minnow_teacher_errors_total\{code="busy"\} [1-9]\d*/);
    c.close();
  });
});

describe('fuzzing', () => {
  it('2000 mutated frames each get an answer, and the server still serves', async () => {
    const rng = new Rng(2024);
    const seeds = [
      encodeFrame(good(7, 2, 6)),
      encodeFrame({ type: 'hello', id: 1, version: 1 }),
      encodeFrame({ type: 'infer', id: 'x', version: 1, inputs: { input_ids: { dtype: 'int32', dims: [1, 3], data: new Int32Array([1, 2, 3]) } }, temperature: 2, top_k: 5, fp16: true }),
    ];
    const c = await ready();
    let answered = 0;
    for (let i = 0; i < 2000; i++) {
      const frame = Buffer.from(seeds[i % seeds.length]!);
      const edits = 1 + rng.int(4);
      for (let e = 0; e < edits; e++) {
        const op = rng.int(3), at = rng.int(frame.length);
        if (op === 0) frame[at] = rng.int(256);
        else if (op === 1) frame[at] = frame[at]! ^ (1 << rng.int(8));
        else frame[at] = [0x00, 0xff, 0x7f, 0x80, 0xc0, 0xdc][rng.int(6)]!;
      }
      const cut = rng.next() < 0.1 ? frame.subarray(0, rng.int(frame.length)) : frame;
      c.sendBytes(cut);
      // Every frame gets exactly one reply (soft, info or error); none kills the connection.
      const reply = await c.next();
      expect(['soft', 'info', 'error']).toContain(reply.type);
      answered++;
    }
    expect(answered).toBe(2000);
    expect(c.closeCode).toBeUndefined();
    c.close();
    await stillServes();
  });
});
