// The teacher server: WebSocket (protocol v1) and HTTP (/healthz, /metrics) on one port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import pino, { type Logger } from 'pino';
import { PROTOCOL_VERSION, clientMessageSchema, type ErrorCode, type InferMessage, type InfoMessage, type ServerMessage, type SoftMessage } from '../src/protocol/messages.js';
import { decodeFrame, encodeFrame } from '../src/protocol/codec.js';
import type { Device } from '../src/onnx/runtime.js';
import { Tensor } from '../src/onnx/tensor.js';
import { loadTeacherModel, type TeacherModel } from './model.js';
import { DynamicBatcher } from './batcher.js';
import { TokenSet } from './auth.js';
import { TeacherMetrics } from './metrics.js';
import { softLabels } from './soft-labels.js';
import { RequestError, validateInputs } from './validate.js';

export interface ServeOptions {
  /** Path to a model.onnx (or a run directory), or a loaded model. */
  model: string | TeacherModel;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  device?: Device;
  threads?: number;
  tokenFile?: string;
  tokens?: string[];
  maxBatch?: number;
  maxWaitMs?: number;
  maxConnections?: number;
  maxPayload?: number;
  /** Requests in flight per connection before `busy`. */
  maxInflight?: number;
  /** A pino logger, or false for none (default: JSON lines on stderr). */
  logger?: Logger | false;
  task?: string;
  labels?: string[];
}

export interface TeacherServer {
  host: string;
  port: number;
  url: string;
  teacherId: string;
  model: TeacherModel;
  metrics: TeacherMetrics;
  /** Stops accepting, answers everything in flight, closes sockets with 1001, then resolves. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Above this many unsent bytes on a socket, stop reading from it until it drains. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

interface Connection {
  id: number;
  ws: WebSocket;
  authed: boolean;
  inflight: number;
  paused: boolean;
}

export async function serveTeacher(options: ServeOptions): Promise<TeacherServer> {
  const log: Logger = options.logger === false ? pino({ enabled: false }) : options.logger ?? pino({ name: 'minnow-teacher' }, pino.destination(2));
  const host = options.host ?? '127.0.0.1';
  const tokens = options.tokens ? new TokenSet(options.tokens) : options.tokenFile ? TokenSet.fromFile(options.tokenFile) : undefined;
  if (!tokens && !LOOPBACK.has(host)) {
    throw new Error(`refusing to listen on ${host} without --token-file: anyone on the network could use the teacher`);
  }
  const maxBatch = options.maxBatch ?? 64;
  const maxPayload = options.maxPayload ?? 16 * 1024 * 1024;
  const maxInflight = options.maxInflight ?? 32;
  const maxConnections = options.maxConnections ?? 256;

  const model = typeof options.model === 'string'
    ? await loadTeacherModel(options.model, { device: options.device, threads: options.threads, task: options.task, labels: options.labels })
    : options.model;
  const metrics = new TeacherMetrics();
  const batcher = new DynamicBatcher(model, maxBatch, options.maxWaitMs ?? 5, {
    batchSize: (n) => metrics.batchSize.observe(n),
    latency: (s) => metrics.latency.observe(s),
    queueDepth: (n) => metrics.queueDepth.set(n),
  });
  await warmUp(model, batcher);

  let ready = true;
  let shuttingDown = false;
  const connections = new Set<Connection>();
  let nextConnection = 1;

  const httpServer = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      const ok = ready && !shuttingDown;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : shuttingDown ? 'shutting_down' : 'loading', teacher_id: model.id }));
    } else if (req.method === 'GET' && req.url === '/metrics') {
      void metrics.text().then((text) => { res.writeHead(200, { 'content-type': metrics.registry.contentType }); res.end(text); });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('minnow teacher: WebSocket on this port; GET /healthz, GET /metrics\n');
    }
  });
  // ws drops frames over its own limit by closing the socket (1009); frames between our limit and
  // that hard limit get a `too_large` error instead, so a client learns what it did wrong.
  const wss = new WebSocketServer({ server: httpServer, maxPayload: maxPayload * 4 + 1024 * 1024 });

  const info = (id: number | string): InfoMessage => ({
    type: 'info', id, version: PROTOCOL_VERSION, teacher_id: model.id, task: model.task, inputs: model.inputs,
    tokenizer: model.tokenizer, labels: model.labels, vocab_size: model.vocabSize, preprocessing: model.preprocessing,
    params: model.params, metrics: model.metrics,
    limits: { max_batch: maxBatch, max_payload: maxPayload, max_inflight: maxInflight, max_seq: model.maxSeq },
  });

  const send = (conn: Connection, message: ServerMessage) => {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    conn.ws.send(encodeFrame(message), () => {
      if (conn.paused && conn.ws.bufferedAmount < LOW_WATER) { conn.paused = false; conn.ws.resume(); }
    });
    if (!conn.paused && conn.ws.bufferedAmount > HIGH_WATER) { conn.paused = true; conn.ws.pause(); }
  };
  const fail = (conn: Connection, id: number | string | null, code: ErrorCode, message: string) => {
    metrics.errors.inc({ code });
    log.warn({ conn: conn.id, request: id, code }, message);
    send(conn, { type: 'error', id, version: PROTOCOL_VERSION, code, message });
  };

  const infer = async (conn: Connection, msg: InferMessage) => {
    let request;
    try {
      request = validateInputs(model, msg.inputs, maxBatch);
    } catch (err) {
      if (err instanceof RequestError) return fail(conn, msg.id, err.code, err.message);
      throw err;
    }
    conn.inflight++;
    try {
      const { logits, dims } = await batcher.submit(request);
      const vocab = dims.at(-1)!;
      const rows = logits.length / vocab;
      const soft = softLabels(logits, rows, vocab, msg.temperature, msg.top_k, msg.fp16);
      const reply: SoftMessage = {
        type: 'soft', id: msg.id, version: PROTOCOL_VERSION, teacher_id: model.id, temperature: msg.temperature,
        dims: dims.slice(0, -1), fp16: msg.fp16, ...soft,
      };
      metrics.requests.inc();
      send(conn, reply);
    } catch (err) {
      fail(conn, msg.id, 'internal', `inference failed: ${(err as Error).message}`);
    } finally {
      conn.inflight--;
    }
  };

  const onMessage = (conn: Connection, raw: RawData, isBinary: boolean) => {
    const frame = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    if (!isBinary) return fail(conn, null, 'bad_frame', 'frames must be binary msgpack');
    if (frame.length > maxPayload) return fail(conn, null, 'too_large', `frame of ${frame.length} bytes exceeds --max-payload ${maxPayload}`);
    let decoded: unknown;
    try { decoded = decodeFrame(frame); } catch { return fail(conn, null, 'bad_frame', 'frame is not valid msgpack'); }
    const obj = decoded as { id?: unknown; version?: unknown } | null;
    const id = obj && typeof obj === 'object' && (typeof obj.id === 'number' || typeof obj.id === 'string') ? obj.id : null;
    if (obj && typeof obj === 'object' && obj.version !== undefined && obj.version !== PROTOCOL_VERSION) {
      return fail(conn, id, 'unsupported_version', `protocol version ${String(obj.version)} is not supported; this teacher speaks version ${PROTOCOL_VERSION}`);
    }
    const parsed = clientMessageSchema.safeParse(decoded);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return fail(conn, id, 'bad_request', `${issue.path.join('.') || 'message'}: ${issue.message}`);
    }
    const msg = parsed.data;
    if (msg.type === 'hello') {
      if (tokens && !tokens.accepts(msg.token)) {
        fail(conn, msg.id, 'unauthorized', 'missing or wrong token');
        conn.ws.close(1008, 'unauthorized');
        return;
      }
      conn.authed = true;
      log.info({ conn: conn.id }, 'handshake');
      return send(conn, info(msg.id));
    }
    if (!conn.authed) return fail(conn, msg.id, 'unauthorized', 'send hello (with your token) before infer');
    if (shuttingDown) return fail(conn, msg.id, 'shutting_down', 'the teacher is shutting down; reconnect to another');
    if (conn.inflight >= maxInflight) return fail(conn, msg.id, 'busy', `more than ${maxInflight} requests in flight on this connection; wait for answers`);
    void infer(conn, msg).catch((err) => fail(conn, msg.id, 'internal', (err as Error).message));
  };

  wss.on('connection', (ws, req) => {
    const conn: Connection = { id: nextConnection++, ws, authed: false, inflight: 0, paused: false };
    if (connections.size >= maxConnections || shuttingDown) {
      const code: ErrorCode = shuttingDown ? 'shutting_down' : 'busy';
      ws.send(encodeFrame({ type: 'error', id: null, version: PROTOCOL_VERSION, code, message: shuttingDown ? 'shutting down' : `connection limit (${maxConnections}) reached` }));
      ws.close(1013, code);
      metrics.errors.inc({ code });
      return;
    }
    connections.add(conn);
    metrics.connections.set(connections.size);
    log.info({ conn: conn.id, remote: req.socket.remoteAddress }, 'connected');
    ws.on('message', (data, isBinary) => {
      try { onMessage(conn, data, isBinary); } catch (err) { fail(conn, null, 'internal', (err as Error).message); }
    });
    ws.on('error', (err) => log.warn({ conn: conn.id, err: err.message }, 'socket error'));
    ws.on('close', (code) => {
      connections.delete(conn);
      metrics.connections.set(connections.size);
      log.info({ conn: conn.id, code }, 'disconnected');
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 7070, host, () => resolve());
  });
  const address = httpServer.address() as AddressInfo;
  const url = `ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url, teacher_id: model.id, task: model.task, auth: tokens ? `${tokens.size} token(s)` : 'none (loopback only)' }, 'teacher ready');
  if (!tokens) log.warn('no --token-file: listening on loopback only, without authentication');

  return {
    host: address.address, port: address.port, url, teacherId: model.id, model, metrics,
    close: async () => {
      if (shuttingDown) return;
      shuttingDown = true;
      ready = false;
      log.info({ inflight: [...connections].reduce((a, c) => a + c.inflight, 0) }, 'shutting down');
      httpServer.close();
      // Requests already accepted are answered; each reply is flushed before its socket closes.
      await batcher.drain();
      while ([...connections].some((c) => c.inflight > 0)) await new Promise((r) => setTimeout(r, 5));
      await Promise.all([...connections].map((c) => new Promise<void>((resolve) => {
        if (c.ws.readyState === c.ws.CLOSED) return resolve();
        c.ws.once('close', () => resolve());
        c.ws.close(1001, 'teacher shutting down');
        setTimeout(() => { c.ws.terminate(); resolve(); }, 2000).unref();
      })));
      wss.close();
      batcher.close();
      await model.session.release();
      log.info('stopped');
    },
  };
}

async function warmUp(model: TeacherModel, batcher: DynamicBatcher): Promise<void> {
  const inputs: Record<string, Tensor> = {};
  const seq = Math.min(model.maxSeq ?? 8, 8);
  let isText = false;
  for (const spec of model.inputs) {
    const dims = spec.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : seq));
    const n = dims.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'int64') {
      inputs[spec.name] = new Tensor('int64', dims, new BigInt64Array(n).fill(spec.name === 'attention_mask' ? 1n : 0n));
      if (dims.length === 2) isText = true;
    } else {
      inputs[spec.name] = new Tensor('float32', dims, new Float32Array(n));
    }
  }
  await batcher.submit({ inputs, rows: 1, seq: isText ? seq : undefined });
}
