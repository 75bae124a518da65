// The real server on a free loopback port, talked to through the real client (and a raw one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveTeacher, TeacherServer } from '../../teacher/server.js';
import { loadTeacherModel, type TeacherModel } from '../../teacher/model.js';
import { TeacherClient, TeacherError } from '../../student/teacher-client.js';
import { logSoftmaxRows } from '../../teacher/soft-labels.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { readFileSync } from 'node:fs';
import { fromHalfArray } from '../../src/format/fp16.js';
import { RawClient, ids, writeTeacherModel } from '../helpers/teacher-fixture.js';
import type { SoftMessage } from '../../src/protocol/messages.js';

const VOCAB = 50;
let modelFile: string;
let server: TeacherServer;
let reference: (inputIds: BigInt64Array, rows: number, seq: number, mask?: BigInt64Array) => Promise<Float32Array>;

beforeAll(async () => {
  modelFile = writeTeacherModel('classify', { vocab: VOCAB });
  server = await serveTeacher({ model: modelFile, port: 0, logger: false, tokens: ['s3cret'], maxBatch: 16, maxWaitMs: 3, maxInflight: 8, maxPayload: 64 * 1024 });
  const session = await createSession(readFileSync(modelFile));
  reference = async (inputIds, rows, seq, mask) => {
    const out = await run(session, {
      input_ids: new Tensor('int64', [rows, seq], inputIds),
      attention_mask: new Tensor('int64', [rows, seq], mask ?? new BigInt64Array(rows * seq).fill(1n)),
    });
    return out.logits!.data as Float32Array;
  };
});
afterAll(async () => { await server?.close(); });

const textInputs = (rows: number, seq: number, seed: number) => ({
  input_ids: { dtype: 'int64' as const, dims: [rows, seq], data: ids(rows, seq, VOCAB, seed) },
  attention_mask: { dtype: 'int64' as const, dims: [rows, seq], data: new BigInt64Array(rows * seq).fill(1n) },
});

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number) {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  expect(max).toBeLessThan(tol);
}

describe('teacher server', () => {
  it('hands a client the model spec, then soft labels equal to an in-process run', async () => {
    const client = await TeacherClient.connect({ urls: [server.url], token: 's3cret' });
    expect(client.info).toMatchObject({ task: 'classify', labels: ['a', 'b', 'c'], vocab_size: 3, teacher_id: server.teacherId });
    expect(client.info.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask']);
    expect(client.info.limits).toMatchObject({ max_batch: 16, max_inflight: 8, max_seq: 32 });
    const inputs = textInputs(3, 7, 1);
    const soft = await client.infer(inputs, { temperature: 2 });
    expect(soft.format).toBe('full');
    expect(soft.dims).toEqual([3]);
    const expected = logSoftmaxRows(await reference(inputs.input_ids.data, 3, 7), 3, 3, 2);
    expectClose(soft.log_probs as Float32Array, expected, 1e-5);
    const half = await client.infer(inputs, { temperature: 2, fp16: true });
    expectClose(fromHalfArray(half.log_probs as Uint16Array), expected, 2e-3);
    await client.close();
  });

  it('16 concurrent clients with mixed sequence lengths each get their own answers', async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => TeacherClient.connect({ urls: [server.url], token: 's3cret' })));
    const jobs: Promise<void>[] = [];
    clients.forEach((client, c) => {
      for (let r = 0; r < 4; r++) {
        const rows = 1 + ((c + r) % 4), seq = 3 + ((c * 7 + r * 5) % 28), seed = c * 100 + r;
        const inputs = textInputs(rows, seq, seed);
        // Half the clients pad their own rows, so masks differ inside a merged batch too.
        if (c % 2 && seq > 4) for (let i = 0; i < rows; i++) inputs.attention_mask.data.fill(0n, i * seq + seq - 2, (i + 1) * seq);
        jobs.push(client.infer(inputs).then(async (soft) => {
          const expected = logSoftmaxRows(await reference(inputs.input_ids.data, rows, seq, inputs.attention_mask.data), rows, 3, 1);
          expectClose(soft.log_probs as Float32Array, expected, 1e-5);
        }));
      }
    });
    await Promise.all(jobs);
    // Requests were merged: fewer model runs than requests.
    const runs = (await server.metrics.batchSize.get()).values.find((v) => v.metricName === 'minnow_teacher_batch_rows_count')!.value;
    const answered = (await server.metrics.requests.get()).values[0]!.value;
    expect(runs).toBeLessThan(answered);
    await Promise.all(clients.map((c) => c.close()));
  });

  it('a client that disconnects mid-batch does not disturb the others', async () => {
    const quitter = await RawClient.open(server.url);
    await quitter.hello('s3cret');
    const stayer = await TeacherClient.connect({ urls: [server.url], token: 's3cret' });
    quitter.send({ type: 'infer', id: 1, version: 1, inputs: textInputs(8, 30, 9) });
    quitter.close();
    const inputs = textInputs(2, 5, 10);
    const soft = await stayer.infer(inputs);
    expectClose(soft.log_probs as Float32Array, logSoftmaxRows(await reference(inputs.input_ids.data, 2, 5), 2, 3, 1), 1e-5);
    await stayer.close();
  });

  it('refuses a wrong token with `unauthorized`', async () => {
    await expect(TeacherClient.connect({ urls: [server.url], token: 'wrong', reconnectTimeoutMs: 500 })).rejects.toMatchObject({ code: 'unauthorized' });
    const raw = await RawClient.open(server.url);
    raw.send({ type: 'infer', id: 5, version: 1, inputs: textInputs(1, 3, 1) });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 5, code: 'unauthorized' });
    raw.close();
  });

  it('answers a version mismatch with `unsupported_version`', async () => {
    const raw = await RawClient.open(server.url);
    raw.send({ type: 'hello', id: 3, version: 2, token: 's3cret' });
    expect(await raw.next()).toMatchObject({ type: 'error', id: 3, code: 'unsupported_version' });
    raw.close();
  });

  it('serves /healthz and /metrics', async () => {
    const base = server.url.replace('ws://', 'http://');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', teacher_id: server.teacherId });
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const name of ['minnow_teacher_requests_total', 'minnow_teacher_errors_total', 'minnow_teacher_batch_rows_bucket', 'minnow_teacher_latency_seconds_bucket', 'minnow_teacher_queue_depth', 'minnow_teacher_connections']) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/minnow_teacher_errors_total\{code="unauthorized"\} [1-9]/);
  });
});

describe('server states', () => {
  it('says loading (503) and not_ready until the model is warm, ok once ready, then drains and closes', async () => {
    let release!: (m: TeacherModel) => void;
    const model = new Promise<TeacherModel>((resolve) => { release = resolve; });
    const starting = new TeacherServer({ model, port: 0, logger: false });
    await starting.listen();
    expect(starting.state).toBe('loading');
    const base = starting.url.replace('ws://', 'http://');
    const loading = await fetch(`${base}/healthz`);
    expect(loading.status).toBe(503);
    expect(await loading.json()).toEqual({ status: 'loading' });
    const early = await RawClient.open(starting.url);
    expect(await early.hello()).toMatchObject({ type: 'error', code: 'not_ready' });
    // A client that connects now retries with backoff until the teacher is ready.
    const waiting = TeacherClient.connect({ urls: [starting.url], minBackoffMs: 20 });
    release(await loadTeacherModel(modelFile));
    await starting.ready();
    expect(starting.state).toBe('ready');
    const ready = await fetch(`${base}/healthz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', teacher_id: starting.teacherId });
    const client = await waiting;
    expect(client.info.teacher_id).toBe(starting.teacherId);
    await client.close();
    const closing = starting.close();
    expect(starting.state).toBe('draining');
    await closing;
    expect(starting.state).toBe('closed');
  });

  it('closed while loading: close() waits for the model and releases it; the address stays known; listen() is once', async () => {
    let release!: (m: TeacherModel) => void;
    const server2 = new TeacherServer({ model: new Promise<TeacherModel>((resolve) => { release = resolve; }), port: 0, logger: false });
    await server2.listen();
    const url = server2.url;
    const closing = server2.close();
    expect(server2.state).toBe('draining');
    const model = await loadTeacherModel(modelFile);
    let released = 0;
    const original = model.session.release.bind(model.session);
    model.session.release = async () => { released++; return original(); };
    release(model);
    await closing;
    await server2.ready();
    expect({ state: server2.state, released, url: server2.url }).toEqual({ state: 'closed', released: 1, url });
    await expect(server2.listen()).rejects.toThrow(/listen\(\) is called once/);
  });

  it('a model that cannot be loaded rejects ready() with its reason and leaves the server closed', async () => {
    const broken = new TeacherServer({ model: '/nonexistent/model.onnx', port: 0, logger: false });
    await broken.listen();
    await expect(broken.ready()).rejects.toThrow(/model file '\/nonexistent\/model.onnx' not found/);
    expect(broken.state).toBe('closed');
  });
});

describe('client failover and teacher identity', () => {
  it('fails over to the next teacher with the same id and refuses one with another id', async () => {
    const a = await serveTeacher({ model: modelFile, port: 0, logger: false });
    const b = await serveTeacher({ model: modelFile, port: 0, logger: false });
    const client = await TeacherClient.connect({ urls: [a.url, b.url], minBackoffMs: 20 });
    const inputs = textInputs(2, 6, 3);
    const first = await client.infer(inputs);
    await a.close();
    const second = await client.infer(inputs);
    expect(client.url).toBe(b.url);
    expectClose(second.log_probs as Float32Array, first.log_probs as Float32Array, 1e-6);
    await client.close();
    await b.close();

    const other = await serveTeacher({ model: writeTeacherModel('classify', { vocab: VOCAB, seed: 99 }), port: 0, logger: false });
    await expect(TeacherClient.connect({ urls: [other.url], teacherId: server.teacherId })).rejects.toThrow(TeacherError);
    await expect(TeacherClient.connect({ urls: [other.url], teacherId: server.teacherId })).rejects.toMatchObject({ code: 'teacher_changed' });
    // A replica of another teacher among the URLs stops the client, whichever answered first.
    const mixed = (async () => {
      const c = await TeacherClient.connect({ urls: [server.url, other.url], token: 's3cret', teacherId: server.teacherId });
      await new Promise((r) => setTimeout(r, 300));
      return c.infer(inputs);
    })();
    await expect(mixed).rejects.toMatchObject({ code: 'teacher_changed' });
    await other.close();
  });

  it('a name that resolves to several addresses stands for a replica at each', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const replicas = await Promise.all(['127.0.0.1', '127.0.0.2'].map((host) => serveTeacher({ model: modelFile, host, port, tokens: ['s3cret'], logger: false })));
    const lookup = async (host: string) => (host === 'teachers.test' ? ['127.0.0.1', '127.0.0.2'] : []);
    const client = await TeacherClient.connect({ urls: [`ws://teachers.test:${port}`], token: 's3cret', lookup });
    for (let i = 0; i < 50 && client.connected.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(client.connected.sort()).toEqual([`ws://127.0.0.1:${port}/`, `ws://127.0.0.2:${port}/`]);
    await Promise.all(Array.from({ length: 40 }, (_, i) => client.infer(textInputs(2, 6, i))));
    for (const r of replicas) expect(Number(/minnow_teacher_requests_total (\d+)/.exec(await r.metrics.text())![1])).toBeGreaterThan(0);
    await client.close();
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('names looked up again: new addresses join, a failed lookup keeps the replicas, close() leaves no socket', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const hosts = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
    const replicas = await Promise.all(hosts.map((host) => serveTeacher({ model: modelFile, host, port, tokens: ['s3cret'], logger: false })));
    const answers: (string[] | Error)[] = [[hosts[0]!, hosts[1]!], new Error('SERVFAIL'), [hosts[0]!, hosts[2]!]];
    let calls = 0;
    const lookup = async () => { const a = answers[Math.min(calls++, answers.length - 1)]!; if (a instanceof Error) throw a; return a; };
    const client = await TeacherClient.connect({ urls: [`ws://teachers.test:${port}`], token: 's3cret', lookup, resolveEveryMs: 100 });
    const url = (h: string) => `ws://${h}:${port}/`;
    for (let i = 0; i < 50 && client.connected.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(client.connected.sort()).toEqual([url(hosts[0]!), url(hosts[1]!)]);
    // The failed lookup (second) changes nothing; the third brings 127.0.0.3 in.
    for (let i = 0; i < 100 && !client.connected.includes(url(hosts[2]!)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(client.connected).toContain(url(hosts[0]!));
    expect(client.connected).toContain(url(hosts[2]!));
    await Promise.all(Array.from({ length: 12 }, (_, i) => client.infer(textInputs(2, 6, i))));
    await client.close();
    await new Promise((r) => setTimeout(r, 100));
    for (const r of replicas) expect(await r.metrics.text()).toMatch(/^minnow_teacher_connections 0$/m);
    await Promise.all(replicas.map((r) => r.close()));
  });

  it('a request no replica would take is refused at once, not sent', async () => {
    const small = await serveTeacher({ model: modelFile, port: 0, logger: false, maxBatch: 4 });
    const client = await TeacherClient.connect({ urls: [small.url] });
    await expect(client.infer(textInputs(5, 6, 1))).rejects.toMatchObject({ code: 'batch_too_large', message: '5 rows exceed the teacher\'s max_batch 4; send at most 4 a request' });
    expect(await client.infer(textInputs(4, 6, 1))).toMatchObject({ type: 'soft' });
    await client.close();
    await small.close();
  });

  it('uses every replica at once, each request to the one with the fewest in flight', async () => {
    const replicas = await Promise.all([0, 1, 2].map(() => serveTeacher({ model: modelFile, port: 0, logger: false, maxInflight: 4 })));
    const client = await TeacherClient.connect({ urls: replicas.map((r) => r.url) });
    await new Promise((r) => setTimeout(r, 200)); // every replica's handshake
    expect(client.connected.sort()).toEqual(replicas.map((r) => r.url).sort());
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => client.infer(textInputs(2, 6, i))));
    expect(answers.every((a) => a.type === 'soft')).toBe(true);
    const served = await Promise.all(replicas.map(async (r) => Number(/minnow_teacher_requests_total (\d+)/.exec(await r.metrics.text())![1])));
    // 60 requests over 3 replicas, at most 4 in flight each: every replica takes a fair share.
    expect(served.reduce((a, b) => a + b, 0)).toBe(60);
    for (const n of served) expect(n).toBeGreaterThanOrEqual(10);
    await client.close();
    await Promise.all(replicas.map((r) => r.close()));
  });
});

export type { SoftMessage };
