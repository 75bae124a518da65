// The teacher server: WebSocket (protocol v1) and HTTP (/healthz, /metrics) on one port. It listens
// before its model is loaded, so that a load balancer's readiness probe sees `loading` (503) until
// the model is loaded and warmed up, then `ok`; on close it drains: new requests get
// `shutting_down`, accepted ones are answered, sockets close with 1001.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import pino, { type Logger } from 'pino';
import { MAX_ID_LENGTH, PROTOCOL_VERSION, clientMessageSchema, type ClientMessage, type ErrorCode, type InferMessage, type InfoMessage } from '../src/protocol/messages.js';
import { decodeFrame, encodeFrame } from '../src/protocol/codec.js';
import type { Device } from '../src/onnx/runtime.js';
import { loadTeacherModel, warmUpRequest, type TeacherModel } from './model.js';
import { DynamicBatcher, type BatchRequest } from './batcher.js';
import { TokenSet } from './auth.js';
import { Admission } from './admission.js';
import { TeacherMetrics } from './metrics.js';
import { Connection } from './connection.js';
import { softLabels } from './soft-labels.js';
import { RequestError, largestRequest, validateInputs } from './validate.js';

export interface ServeOptions {
  /** Path to a model.onnx (or a run directory), a loaded model, or one being loaded. */
  model: string | TeacherModel | Promise<TeacherModel>;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  device?: Device;
  threads?: number;
  tokenFile?: string;
  tokens?: string[];
  /** Serve wss:// and https:// with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** Open connections from one address at most (default 32). */
  maxConnectionsPerAddress?: number;
  /** Requests per second per token (per address without tokens), with a burst of one second's worth. */
  rateLimit?: number;
  maxBatch?: number;
  maxWaitMs?: number;
  maxConnections?: number;
  maxPayload?: number;
  /** Requests in flight per connection before `busy`. */
  maxInflight?: number;
  /** A pino logger, or false for none (default: JSON lines on stderr). */
  logger?: Logger | false;
  /** For models without minnow metadata (teacher/model.ts). */
  task?: string;
  labels?: string[];
  tokenizer?: string;
  logitsOutput?: string;
  maxLength?: number;
  /** Check the model's weights against minnow.weights_sha256 (default true). */
  verify?: boolean;
  /** How long a drain may wait for accepted requests before closing anyway (default DRAIN_TIMEOUT_MS). */
  drainTimeoutMs?: number;
}

/**
 * The longest a drain (SIGTERM) waits for accepted requests. deploy/k8s gives the pod a grace
 * period longer than its preStop pause plus this.
 */
export const DRAIN_TIMEOUT_MS = 25_000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)).unref());

/** A server that cannot start as asked (an address without tokens, a port in use): the operator's to fix. */
export class ServeError extends Error {
  override name = 'ServeError';
}

/** loading: listening, the model not yet warm; ready: serving; draining: answering what it accepted; closed. */
export type TeacherState = 'loading' | 'ready' | 'draining' | 'closed';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

interface Loaded { model: TeacherModel; batcher: DynamicBatcher }

type Parsed = { msg: ClientMessage } | { id: number | string | null; code: ErrorCode; message: string };

/** The id an error answers: a request's own, unless it is one no valid request carries (a 1 MB string). */
function echoableId(id: unknown): number | string | null {
  if (typeof id === 'number') return Number.isSafeInteger(id) ? id : null;
  return typeof id === 'string' && id.length <= MAX_ID_LENGTH ? id : null;
}

/** A frame as a client message, or the error that answers it. */
function parseFrame(raw: RawData, isBinary: boolean, maxPayload: number): Parsed {
  const frame = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
  if (!isBinary) return { id: null, code: 'bad_frame', message: 'frames must be binary msgpack' };
  if (frame.length > maxPayload) return { id: null, code: 'too_large', message: `frame of ${frame.length} bytes exceeds this teacher's max_payload ${maxPayload} (its info message says so); split the request` };
  let decoded: unknown;
  try { decoded = decodeFrame(frame); } catch { return { id: null, code: 'bad_frame', message: 'frame is not valid msgpack' }; }
  const obj = decoded as { id?: unknown; version?: unknown } | null;
  const id = obj && typeof obj === 'object' ? echoableId(obj.id) : null;
  if (obj && typeof obj === 'object' && obj.version !== undefined && obj.version !== PROTOCOL_VERSION) {
    return { id, code: 'unsupported_version', message: `protocol version ${String(obj.version)} is not supported; this teacher speaks version ${PROTOCOL_VERSION}` };
  }
  const parsed = clientMessageSchema.safeParse(decoded);
  if (parsed.success) return { msg: parsed.data };
  const issue = parsed.error.issues[0]!;
  return { id, code: 'bad_request', message: `${issue.path.join('.') || 'message'}: ${issue.message}` };
}

export class TeacherServer {
  readonly metrics = new TeacherMetrics();
  private current: TeacherState = 'loading';
  private readonly requestedHost: string;
  /** Where the server listens, once it does (it stays known after the port closes). */
  private address?: AddressInfo;
  private readonly log: Logger;
  private tokens?: TokenSet;
  private readonly admission: Admission;
  private readonly limits: { maxBatch: number; maxPayload: number; maxInflight: number; maxConnections: number; maxConnectionsPerAddress: number };
  /** Frames above this are refused undecoded: --max-payload, or less where the model bounds a request. */
  private frameLimit: number;
  private readonly httpServer: http.Server | https.Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private nextConnection = 1;
  private loaded?: Loaded;
  /** The model as it loads (settled once loaded or failed); ready() follows `loading`, which sets the state. */
  private modelLoad?: Promise<Loaded>;
  private loading?: Promise<void>;
  private closing?: Promise<void>;

  /** Checks the options; nothing listens until listen(). */
  constructor(private readonly options: ServeOptions) {
    this.log = options.logger === false ? pino({ enabled: false }) : options.logger ?? pino({ name: 'minnow-teacher' }, pino.destination(2));
    this.requestedHost = options.host ?? '127.0.0.1';
    this.tokens = options.tokens ? new TokenSet(options.tokens) : options.tokenFile ? readTokens(options.tokenFile) : undefined;
    if (!this.tokens && !LOOPBACK.has(this.requestedHost)) {
      throw new ServeError(`refusing to listen on ${this.requestedHost} without --token-file: anyone on the network could use the teacher`);
    }
    this.limits = { maxBatch: options.maxBatch ?? 64, maxPayload: options.maxPayload ?? 16 * 1024 * 1024, maxInflight: options.maxInflight ?? 32, maxConnections: options.maxConnections ?? 256, maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 32 };
    this.frameLimit = this.limits.maxPayload;
    this.admission = new Admission({ connectionsPerAddress: this.limits.maxConnectionsPerAddress, requestsPerSecond: options.rateLimit });
    this.httpServer = createHttpServer(options.tls, (req, res) => this.handleHttp(req, res));
    // ws drops frames over its own limit by closing the socket (1009); frames between our limit and
    // that hard limit get a `too_large` error instead, so a client learns what it did wrong.
    this.wss = new WebSocketServer({ server: this.httpServer, maxPayload: this.limits.maxPayload * 4 + 1024 * 1024 });
    this.wss.on('connection', (ws, req) => this.onConnection(ws, req.socket.remoteAddress));
    // ws repeats the HTTP server's errors (a port in use): listen() reports them.
    this.wss.on('error', () => {});
  }

  get state(): TeacherState { return this.current; }

  private get bound(): AddressInfo {
    if (!this.address) throw new Error('the teacher is not listening yet: call listen() first');
    return this.address;
  }
  /** The address the server listens on (e.g. 127.0.0.1 for localhost). */
  get host(): string { return this.bound.address; }
  get port(): number { return this.bound.port; }
  get url(): string {
    const { address, family, port } = this.bound;
    return `${this.options.tls ? 'wss' : 'ws'}://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }
  get model(): TeacherModel {
    if (!this.loaded) throw new Error(`the teacher is ${this.state}: it has no model loaded`);
    return this.loaded.model;
  }
  get teacherId(): string { return this.model.id; }

  /** Opens the port (health says `loading`) and starts loading the model. */
  async listen(): Promise<void> {
    if (this.loading || this.current !== 'loading') throw new Error(`listen() is called once, on a new server (this one is ${this.address ? 'listening' : this.current})`);
    const port = this.options.port ?? 7070;
    await new Promise<void>((resolve, reject) => {
      const failed = (err: NodeJS.ErrnoException) => reject(listenError(err, this.requestedHost, port));
      this.httpServer.once('error', failed);
      this.httpServer.listen(port, this.requestedHost, () => { this.httpServer.off('error', failed); resolve(); });
    });
    this.address = this.httpServer.address() as AddressInfo;
    this.modelLoad = this.loadModel();
    this.loading = this.load(this.modelLoad);
    this.loading.catch(() => { /* surfaced by ready() */ });
  }

  /**
   * Resolves once the model is loaded and warmed up (state ready), or the server was closed while
   * loading; rejects, and closes the server, if the model cannot be loaded.
   */
  async ready(): Promise<void> {
    if (!this.loading) throw new Error('call listen() first');
    await this.loading;
  }

  private async load(modelLoad: Promise<Loaded>): Promise<void> {
    let loaded: Loaded;
    try {
      loaded = await modelLoad;
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.current !== 'loading') return; // closed while loading: close() releases the model
    this.loaded = loaded;
    this.frameLimit = Math.min(this.limits.maxPayload, largestRequest(loaded.model, this.limits.maxBatch) ?? Infinity);
    // Frames far over the bound are refused by ws from their header, before their bytes are read
    // (close 1009); those up to twice the bound still get a `too_large` answer.
    this.wss.options.maxPayload = Math.min(this.wss.options.maxPayload!, 2 * this.frameLimit + 64 * 1024);
    this.current = 'ready';
    this.log.info({ url: this.url, teacher_id: this.teacherId, task: this.model.task, auth: this.tokens ? `${this.tokens.size} token(s)` : 'none (loopback only)' }, 'teacher ready');
    if (!this.tokens) this.log.warn('no --token-file: listening on loopback only, without authentication');
  }

  /**
   * Reads --token-file again (SIGHUP): new handshakes need one of its tokens; open connections keep
   * theirs. A file that cannot be read leaves the old tokens in place, and says so.
   */
  reloadTokens(): boolean {
    if (!this.options.tokenFile) return false;
    try {
      this.tokens = TokenSet.fromFile(this.options.tokenFile);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'tokens not reloaded; the old ones stay');
      return false;
    }
    this.log.info({ tokens: this.tokens.size }, 'tokens reloaded');
    return true;
  }

  /** The model, its batcher, and one request through both so that the first student's is not slow. */
  private async loadModel(): Promise<Loaded> {
    const { model: source } = this.options;
    const model = typeof source === 'string'
      ? await loadTeacherModel(source, {
        device: this.options.device, threads: this.options.threads, task: this.options.task, labels: this.options.labels,
        tokenizer: this.options.tokenizer, logitsOutput: this.options.logitsOutput, maxLength: this.options.maxLength, verify: this.options.verify,
      })
      : await source;
    const batcher = new DynamicBatcher(model, this.limits.maxBatch, this.options.maxWaitMs ?? 5, {
      batchSize: (n) => this.metrics.batchSize.observe(n),
      latency: (s) => this.metrics.latency.observe(s),
      queueDepth: (n) => this.metrics.queueDepth.set(n),
    });
    await batcher.submit(warmUpRequest(model));
    return { model, batcher };
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' && req.url === '/healthz') {
      const status = this.current === 'ready' ? 'ok' : this.current === 'loading' ? 'loading' : 'shutting_down';
      res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status, teacher_id: this.loaded?.model.id }));
    } else if (req.method === 'GET' && req.url === '/metrics') {
      void this.metrics.text().then((text) => { res.writeHead(200, { 'content-type': this.metrics.registry.contentType }); res.end(text); });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('minnow teacher: WebSocket on this port; GET /healthz, GET /metrics\n');
    }
  }

  /** A refusal for the whole connection (busy or shutting down), sent before closing it. */
  private refuse(ws: WebSocket, code: ErrorCode, message: string): void {
    ws.send(encodeFrame({ type: 'error', id: null, version: PROTOCOL_VERSION, code, message }));
    ws.close(1013, code);
    this.metrics.errors.inc({ code });
  }

  private onConnection(ws: WebSocket, remote: string | undefined): void {
    if (this.current === 'draining' || this.current === 'closed') return this.refuse(ws, 'shutting_down', 'shutting down');
    if (this.connections.size >= this.limits.maxConnections) return this.refuse(ws, 'busy', `connection limit (${this.limits.maxConnections}) reached`);
    const address = remote ?? 'unknown';
    if (!this.admission.connect(address)) return this.refuse(ws, 'busy', `connection limit per address (${this.limits.maxConnectionsPerAddress}) reached for ${address}`);
    const conn = new Connection(this.nextConnection++, ws, this.log, this.metrics);
    conn.rateKey = address;
    this.connections.add(conn);
    this.metrics.connections.set(this.connections.size);
    this.log.info({ conn: conn.id, remote }, 'connected');
    ws.on('message', (data, isBinary) => {
      try { this.onMessage(conn, data, isBinary); } catch (err) { conn.fail(null, 'internal', (err as Error).message); }
    });
    ws.on('error', (err) => this.log.warn({ conn: conn.id, err: err.message }, 'socket error'));
    ws.on('close', (code) => {
      this.connections.delete(conn);
      this.admission.disconnect(address);
      conn.wake();
      this.metrics.connections.set(this.connections.size);
      this.log.info({ conn: conn.id, code }, 'disconnected');
    });
  }

  private onMessage(conn: Connection, raw: RawData, isBinary: boolean): void {
    const parsed = parseFrame(raw, isBinary, this.frameLimit);
    if (!('msg' in parsed)) return conn.fail(parsed.id, parsed.code, parsed.message);
    const { msg } = parsed;
    if (msg.type === 'hello') return this.onHello(conn, msg.id, msg.token);
    if (!conn.authed) return conn.fail(msg.id, 'unauthorized', 'send hello (with your token) before infer');
    if (this.current !== 'ready') return conn.fail(msg.id, 'shutting_down', 'the teacher is shutting down; reconnect to another');
    if (conn.inflight >= this.limits.maxInflight) return conn.fail(msg.id, 'busy', `more than ${this.limits.maxInflight} requests in flight on this connection; wait for answers`);
    if (!this.admission.take(conn.rateKey)) return conn.fail(msg.id, 'rate_limited', `more than ${this.options.rateLimit} requests a second for this token; slow down`);
    void this.infer(conn, msg).catch((err) => conn.fail(msg.id, 'internal', (err as Error).message));
  }

  private onHello(conn: Connection, id: number | string, token: string | undefined): void {
    const key = this.tokens?.match(token);
    if (this.tokens && !key) {
      conn.fail(id, 'unauthorized', 'missing or wrong token');
      conn.ws.close(1008, 'unauthorized');
      return;
    }
    if (key) conn.rateKey = key;
    if (this.current !== 'ready') {
      // While loading, the client's reconnection backoff brings it back once the model is warm.
      const [code, message]: [ErrorCode, string] = this.current === 'loading' ? ['not_ready', 'the teacher is still loading its model; try again shortly'] : ['shutting_down', 'the teacher is shutting down; connect to another'];
      conn.fail(id, code, message);
      conn.ws.close(1013, code);
      return;
    }
    conn.authed = true;
    this.log.info({ conn: conn.id }, 'handshake');
    conn.send(this.info(id));
  }

  private info(id: number | string): InfoMessage {
    const model = this.model;
    return {
      type: 'info', id, version: PROTOCOL_VERSION, teacher_id: model.id, task: model.task, inputs: model.inputs,
      tokenizer: model.tokenizer, labels: model.labels, vocab_size: model.vocabSize, preprocessing: model.preprocessing,
      params: model.params, metrics: model.metrics,
      limits: { max_batch: this.limits.maxBatch, max_payload: this.frameLimit, max_inflight: this.limits.maxInflight, max_seq: model.maxSeq },
    };
  }

  private async infer(conn: Connection, msg: InferMessage): Promise<void> {
    const { model } = this.loaded!;
    let request;
    try {
      request = validateInputs(model, msg.inputs, this.limits.maxBatch);
    } catch (err) {
      if (err instanceof RequestError) return conn.fail(msg.id, err.code, err.message);
      throw err;
    }
    const bytes = answerBytes(model.task === 'lm' ? request.rows * request.seq! : request.rows, model.vocabSize, msg);
    conn.inflight++;
    try {
      if (!(await conn.reserve(bytes))) return;
      try {
        await this.answer(conn, msg, request);
      } finally {
        conn.release(bytes);
      }
    } finally {
      conn.inflight--;
    }
  }

  private async answer(conn: Connection, msg: InferMessage, request: BatchRequest): Promise<void> {
    const { model, batcher } = this.loaded!;
    try {
      const { logits, dims } = await batcher.submit(request);
      const vocab = dims.at(-1)!;
      const soft = softLabels(logits, logits.length / vocab, vocab, { temperature: msg.temperature, topK: msg.top_k, sample: msg.sample, fp16: msg.fp16 });
      conn.send({ type: 'soft', id: msg.id, version: PROTOCOL_VERSION, teacher_id: model.id, temperature: msg.temperature, dims: dims.slice(0, -1), fp16: msg.fp16, ...soft });
      this.metrics.requests.inc();
    } catch (err) {
      conn.fail(msg.id, 'internal', `inference failed: ${(err as Error).message}`);
    }
  }

  /**
   * Stops accepting connections, answers every request it accepted, closes sockets with 1001, and
   * releases the model (once loaded, if it was still loading), then resolves.
   */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    // A model that failed to load is reported once, by whoever awaits ready(); a server that never
    // served has nothing more to say.
    const served = this.current !== 'loading';
    this.current = 'draining';
    const pending = () => [...this.connections].reduce((a, c) => a + c.inflight, 0);
    if (served) this.log.info({ inflight: pending() }, 'shutting down');
    this.httpServer.close();
    // A client that stopped reading would hold its waiting requests, and the drain, forever.
    for (const c of this.connections) c.unbound();
    // Requests already accepted are answered, within the drain timeout (an orchestrator's grace
    // period must be longer); each reply is flushed before its socket closes.
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS);
    await Promise.race([this.loaded?.batcher.drain(), sleep(deadline - Date.now())]);
    while (pending() > 0 && Date.now() < deadline) await sleep(5);
    const unanswered = pending();
    if (unanswered > 0) this.log.warn({ unanswered }, 'drain timeout reached; closing with requests unanswered');
    await Promise.all([...this.connections].map((c) => c.close(1001, 'teacher shutting down')));
    this.wss.close();
    const loaded = this.loaded ?? (await this.modelLoad?.catch(() => undefined));
    loaded?.batcher.close();
    await loaded?.model.session.release();
    this.current = 'closed';
    if (served) this.log.info('stopped');
  }
}

function readTokens(file: string): TokenSet {
  try {
    return TokenSet.fromFile(file);
  } catch (err) {
    throw new ServeError((err as Error).message);
  }
}

/** HTTP, or HTTPS with the given certificate (a bad one refused in the operator's terms). */
function createHttpServer(tls: ServeOptions['tls'], handler: http.RequestListener): http.Server | https.Server {
  if (!tls) return http.createServer(handler);
  try {
    return https.createServer({ cert: tls.cert, key: tls.key }, handler);
  } catch (err) {
    throw new ServeError(`--tls-cert/--tls-key: ${(err as Error).message}; give a PEM certificate and its private key`);
  }
}

/** Why the port could not be opened, in the operator's terms. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE') return new ServeError(`${where} is already in use; stop what listens there or pick another --port`);
  if (err.code === 'EACCES') return new ServeError(`no permission to listen on ${where}; use a port above 1023`);
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return new ServeError(`${host} is not an address of this machine; give one of its addresses, or 0.0.0.0 for all`);
  return err;
}

/** About how many bytes the answer to a request takes on the wire. */
function answerBytes(positions: number, vocab: number, msg: InferMessage): number {
  const value = msg.fp16 ? 2 : 4;
  const perPosition = msg.top_k > 0 && msg.top_k < vocab ? msg.top_k * (value + 4) + 4 : vocab * value;
  return positions * perPosition + 256;
}

/** A teacher server listening with its model loaded and warm. */
export async function serveTeacher(options: ServeOptions): Promise<TeacherServer> {
  const server = new TeacherServer(options);
  await server.listen();
  await server.ready();
  if (server.state !== 'ready') throw new Error('the teacher was closed while it loaded its model');
  return server;
}
