// The client students use to talk to their teacher, served by one or many replicas: handshake,
// pipelined infer() calls spread over every replica at once (each request to the connected one
// with the fewest in flight), a replica that answers `busy` backed off, one that drops reconnected
// with exponential backoff while its unanswered requests go to the others, and a refusal to go on
// when a replica reports another teacher id.
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type ErrorCode, type InfoMessage, type ServerMessage, type SoftMessage, type WireTensor } from '../src/protocol/messages.js';
import { decodeFrame, encodeFrame } from '../src/protocol/codec.js';
import { replicaAddresses, systemLookup, type Lookup, type ReplicaAddress } from './replica-urls.js';

export interface TeacherClientOptions {
  /**
   * ws:// URLs of replicas serving the same teacher; all are used at once. A name that resolves to
   * several addresses (a headless Service) stands for a replica at each.
   */
  urls: string[];
  /** How names are resolved (default: the system's resolver). */
  lookup?: Lookup;
  /** Look names up again this often, so that new replicas join (default 30 s). */
  resolveEveryMs?: number;
  token?: string;
  /** PEM certificate(s) of the CA that signed the teachers' (wss://) certificates, where it is not a public one. */
  ca?: string;
  /** Refuse any teacher with another id (default: the first one reached). */
  teacherId?: string;
  /** Backoff between reconnection attempts (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this long without any replica (default: 60 s). */
  reconnectTimeoutMs?: number;
  /** Time to wait for the handshake of one connection attempt. */
  connectTimeoutMs?: number;
}

export interface InferOptions { temperature?: number; topK?: number; sample?: boolean; fp16?: boolean }

export class TeacherError extends Error {
  override name = 'TeacherError';
  constructor(readonly code: ErrorCode | 'teacher_changed' | 'unreachable' | 'closed' | 'bad_soft_labels' | 'no_tokenizer' | 'tls', message: string) { super(message); }
}

/** Errors no reconnection mends: the run stops. */
const FATAL = new Set(['teacher_changed', 'unauthorized', 'unsupported_version', 'tls']);
/** Answers that are not the request's fault: it goes again, after a pause for that replica. */
const RETRY = new Set(['busy', 'shutting_down', 'rate_limited']);
/** First pause after a `busy` answer; it doubles while a replica stays busy. */
const BUSY_PAUSE_MS = 20;
const MAX_BUSY_PAUSE_MS = 1000;
/** Connections a request may see drop under it before it fails. */
const MAX_DROPS = 5;

interface PendingRequest {
  id: number;
  frame: Buffer;
  resolve(m: SoftMessage): void;
  reject(e: Error): void;
  /** Where it was sent and not yet answered. */
  replica?: Replica;
  /** How many connections dropped while it was in flight on them. */
  drops: number;
}

/** One teacher replica: its socket once the handshake passed, and what is in flight on it. */
class Replica {
  ws?: WebSocket;
  /** Its name no longer resolves to it: it is used while open, not reconnected. */
  retired = false;
  info?: InfoMessage;
  inflight = 0;
  /** Not sent to before this time (it answered `busy`). */
  readyAt = 0;
  busyPause = BUSY_PAUSE_MS;
  /** The socket of a connection attempt in progress. */
  connecting?: WebSocket;
  /** Resolves when the open socket closes. */
  closed?: Promise<void>;
  constructor(readonly url: string, readonly servername?: string) {}
  get open(): boolean { return this.ws?.readyState === WebSocket.OPEN; }
  get limit(): number { return this.info?.limits.max_inflight ?? 1; }
}

/** A certificate the client does not trust: no retry mends it, the operator must. */
function tlsError(err: Error, url: string): TeacherError | undefined {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (!/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(code)) return undefined;
  return new TeacherError('tls', `${url}: the teacher's TLS certificate is not trusted (${err.message}); give the CA that signed it with --ca`);
}


export class TeacherClient extends EventEmitter {
  info!: InfoMessage;
  private replicas: Replica[] = [];
  private resolveTimer?: NodeJS.Timeout;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly waiting: PendingRequest[] = [];
  private closed = false;
  /** Why the client stopped, once it did. */
  private failure?: Error;
  /** When a replica was last connected (or the client started): the reconnection deadline counts from it. */
  private lastOpen = Date.now();
  private lastError?: Error;
  private firstInfo!: { resolve(): void; reject(e: Error): void };
  private rotate = 0;
  private pumpTimer?: NodeJS.Timeout;
  private pumpAt = 0;
  private readonly pauses = new Set<() => void>();

  private constructor(private readonly options: TeacherClientOptions) {
    super();
    if (options.urls.length === 0) throw new TeacherError('unreachable', 'no teacher URL given');
  }

  /** Connects to every replica; resolves once one has answered the handshake. */
  static async connect(options: TeacherClientOptions): Promise<TeacherClient> {
    const client = new TeacherClient(options);
    const first = new Promise<void>((resolve, reject) => { client.firstInfo = { resolve, reject }; });
    client.adopt(await replicaAddresses(options.urls, options.lookup ?? systemLookup));
    client.resolveTimer = setInterval(() => {
      // A lookup that fails says nothing about the replicas: keep them as they are.
      void replicaAddresses(options.urls, options.lookup ?? systemLookup, { strict: true }).then((found) => client.adopt(found), () => {});
    }, options.resolveEveryMs ?? 30_000).unref();
    await first;
    return client;
  }

  /** Starts a replica for each new address, and retires those the names no longer resolve to. */
  private adopt(found: ReplicaAddress[]): void {
    if (this.closed) return;
    const urls = new Set(found.map((a) => a.url));
    for (const r of this.replicas) r.retired = !urls.has(r.url);
    this.replicas = this.replicas.filter((r) => !r.retired || r.open);
    for (const address of found) {
      if (this.replicas.some((r) => r.url === address.url)) continue;
      const replica = new Replica(address.url, address.servername);
      this.replicas.push(replica);
      void this.maintain(replica);
    }
  }

  get teacherId(): string { return this.info.teacher_id; }
  /** A connected replica's URL (the first given when none is). */
  get url(): string { return (this.replicas.find((r) => r.open) ?? this.replicas[0]!).url; }
  /** The URLs of the replicas connected now. */
  get connected(): string[] { return this.replicas.filter((r) => r.open).map((r) => r.url); }

  /** Soft labels for one batch, from whichever replica has room first. */
  infer(inputs: Record<string, WireTensor>, options: InferOptions = {}): Promise<SoftMessage> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new TeacherError('closed', 'the client is closed'));
    const id = this.nextId++;
    const frame = encodeFrame({
      type: 'infer', id, version: PROTOCOL_VERSION, inputs,
      temperature: options.temperature ?? 1, top_k: options.topK ?? 0, sample: options.sample ?? false, fp16: options.fp16 ?? false,
    });
    const refused = this.oversized(inputs, frame.length);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const request: PendingRequest = { id, frame, resolve, reject, drops: 0 };
      this.pending.set(id, request);
      this.waiting.push(request);
      this.pump();
    });
  }

  /**
   * A request no replica would take: more rows than max_batch, or a frame over max_payload, which
   * the teacher refuses without reading its id, so the refusal could not be matched to it.
   */
  private oversized(inputs: Record<string, WireTensor>, bytes: number): TeacherError | undefined {
    const { max_batch: maxBatch, max_payload: maxPayload } = this.info.limits;
    const rows = Object.values(inputs)[0]?.dims[0] ?? 0;
    if (rows > maxBatch) return new TeacherError('batch_too_large', `${rows} rows exceed the teacher's max_batch ${maxBatch}; send at most ${maxBatch} a request`);
    if (bytes > maxPayload) return new TeacherError('too_large', `a request of ${bytes} bytes exceeds the teacher's max_payload ${maxPayload}; send fewer rows or shorter sequences`);
    return undefined;
  }

  /** Sends waiting requests, each to the replica with the fewest in flight among those with room. */
  private pump(): void {
    while (this.waiting.length) {
      const replica = this.pick();
      if (!replica) return this.pumpLater();
      const request = this.waiting.shift()!;
      if (!this.pending.has(request.id)) continue;
      request.replica = replica;
      replica.inflight++;
      replica.ws!.send(request.frame);
    }
  }

  private pick(): Replica | undefined {
    const now = Date.now();
    let best: Replica | undefined;
    const n = this.replicas.length;
    // Ties go round the replicas, so that equal ones share the work.
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.rotate + i) % n]!;
      if (!r.open || r.readyAt > now || r.inflight >= r.limit) continue;
      if (!best || r.inflight < best.inflight) best = r;
    }
    if (best) this.rotate = (this.replicas.indexOf(best) + 1) % n;
    return best;
  }

  /** Tries again when the first backed-off replica is ready (answers and connections pump too). */
  private pumpLater(): void {
    const now = Date.now();
    const next = Math.min(...this.replicas.filter((r) => r.open && r.readyAt > now).map((r) => r.readyAt));
    if (!Number.isFinite(next) || (this.pumpTimer && this.pumpAt <= next)) return;
    clearTimeout(this.pumpTimer);
    this.pumpAt = next;
    this.pumpTimer = setTimeout(() => { this.pumpTimer = undefined; this.pump(); }, next - now);
  }

  private onMessage(replica: Replica, data: WebSocket.RawData): void {
    const msg = decodeFrame(data as Buffer) as ServerMessage;
    if (msg.type === 'info') return;
    const request = typeof msg.id === 'number' ? this.pending.get(msg.id) : undefined;
    if (!request || request.replica !== replica) {
      if (msg.type === 'error') this.emit('teacher-error', msg);
      return;
    }
    replica.inflight--;
    request.replica = undefined;
    if (msg.type === 'error' && RETRY.has(msg.code)) {
      // Not the request's fault: it goes first to whichever replica has room, this one after a pause.
      replica.readyAt = Date.now() + replica.busyPause;
      replica.busyPause = Math.min(2 * replica.busyPause, MAX_BUSY_PAUSE_MS);
      this.waiting.unshift(request);
    } else {
      this.pending.delete(request.id);
      replica.busyPause = BUSY_PAUSE_MS;
      if (msg.type === 'error') request.reject(new TeacherError(msg.code, msg.message));
      else if (msg.teacher_id !== this.info.teacher_id) request.reject(new TeacherError('teacher_changed', `answer from teacher ${msg.teacher_id}, expected ${this.info.teacher_id}`));
      else request.resolve(msg);
    }
    this.pump();
  }

  /** Keeps one replica connected until the client closes, backing off while it cannot be reached. */
  private async maintain(replica: Replica): Promise<void> {
    let backoff = this.options.minBackoffMs ?? 100;
    while (!this.closed && !replica.retired) {
      try {
        await this.open(replica);
        backoff = this.options.minBackoffMs ?? 100;
        this.emit('connected', replica.url);
        await replica.closed;
        if (this.closed) return;
        this.lastOpen = Date.now();
        this.emit('disconnected', replica.url);
      } catch (err) {
        this.lastError = err as Error;
        if (err instanceof TeacherError && FATAL.has(err.code)) return this.fail(err);
        const alone = !this.replicas.some((r) => r.open);
        if (alone && Date.now() - this.lastOpen > (this.options.reconnectTimeoutMs ?? 60_000)) {
          return this.fail(new TeacherError('unreachable', `no teacher reachable at ${this.options.urls.join(', ')}: ${this.lastError.message}`));
        }
      }
      await this.pause(backoff);
      backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5000);
    }
  }

  /**
   * A backoff pause. It keeps the process alive (a CLI waiting for its teacher must not exit), so
   * close() ends every pause at once.
   */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.pauses.delete(end); resolve(); }, ms);
      const end = () => { clearTimeout(timer); resolve(); };
      this.pauses.add(end);
    });
  }

  /** One connection attempt: the socket, the hello, and the teacher's info (its id checked). */
  private open(replica: Replica): Promise<void> {
    const { url } = replica;
    return new Promise((resolve, reject) => {
      // ws hands `servername` to tls.connect, which checks the certificate against it.
      const tlsName = replica.servername ? { servername: replica.servername } : {};
      const ws = new WebSocket(url, { maxPayload: 1 << 30, ca: this.options.ca, ...tlsName } as WebSocket.ClientOptions);
      let settled = false;
      replica.connecting = ws;
      const timer = setTimeout(() => done(new TeacherError('unreachable', `no handshake from ${url} in time`)), this.options.connectTimeoutMs ?? 10_000).unref();
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        replica.connecting = undefined;
        if (err) { ws.removeAllListeners(); ws.on('error', () => {}); ws.terminate(); reject(err); } else resolve();
      };
      ws.on('open', () => ws.send(encodeFrame({ type: 'hello', id: 0, version: PROTOCOL_VERSION, token: this.options.token })));
      ws.on('error', (err) => done(tlsError(err, url) ?? err));
      ws.on('close', () => done(new TeacherError('unreachable', `${url} closed the connection during the handshake`)));
      ws.once('message', (data) => {
        const msg = decodeFrame(data as Buffer) as ServerMessage;
        if (msg.type === 'error') return done(new TeacherError(msg.code, msg.message));
        if (msg.type !== 'info') return done(new TeacherError('bad_request', `expected info, got ${msg.type}`));
        const expected = this.options.teacherId ?? this.info?.teacher_id;
        if (expected && msg.teacher_id !== expected) {
          return done(new TeacherError('teacher_changed', `teacher at ${url} is ${msg.teacher_id.slice(0, 12)}, not ${expected.slice(0, 12)}: refusing to mix soft labels of different teachers`));
        }
        if (this.closed || replica.retired) return done(new TeacherError('closed', 'the client is closed, or the replica left its name'));
        this.attach(replica, ws, msg);
        done();
      });
    });
  }

  private attach(replica: Replica, ws: WebSocket, info: InfoMessage): void {
    this.info ??= info;
    replica.info = info;
    replica.ws = ws;
    replica.inflight = 0;
    replica.readyAt = 0;
    this.lastOpen = Date.now();
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    ws.on('message', (d) => this.onMessage(replica, d));
    ws.on('error', () => { /* 'close' follows */ });
    replica.closed = new Promise<void>((resolve) => ws.on('close', (code) => { this.detach(replica, code); resolve(); }));
    this.firstInfo.resolve();
    this.pump();
  }

  /** A replica's socket closed: what it had not answered goes to the others (or waits for one). */
  private detach(replica: Replica, code: number): void {
    replica.ws = undefined;
    replica.inflight = 0;
    const orphans = [...this.pending.values()].filter((p) => p.replica === replica);
    for (const r of orphans) {
      r.replica = undefined;
      // A request that every connection it reaches drops (a frame the teacher closes on, one that
      // crashes it) would otherwise go round the replicas for ever.
      if (code === 1009 || ++r.drops > MAX_DROPS) {
        this.pending.delete(r.id);
        r.reject(new TeacherError(code === 1009 ? 'too_large' : 'unreachable', code === 1009 ? `${replica.url} closed the connection on the request as too large (1009)` : `the request was sent ${r.drops} times and each teacher dropped the connection`));
      } else {
        this.waiting.unshift(r);
      }
    }
    this.pump();
  }

  /** Stops for good: every request waiting gets the error, and so does connect() if it still waits. */
  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    this.firstInfo.reject(err);
    for (const r of this.pending.values()) r.reject(err);
    this.pending.clear();
    this.waiting.length = 0;
    if (this.listenerCount('error')) this.emit('error', err);
    void this.shutdown();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const r of this.pending.values()) r.reject(new TeacherError('closed', 'the client was closed'));
    this.pending.clear();
    this.waiting.length = 0;
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    clearInterval(this.resolveTimer);
    for (const end of this.pauses) end();
    this.pauses.clear();
    await Promise.all(this.replicas.map(async (r) => {
      r.connecting?.terminate();
      const ws = r.ws;
      r.ws = undefined;
      if (ws && ws.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => { ws.once('close', () => resolve()); ws.close(1000); setTimeout(resolve, 1000).unref(); });
      }
    }));
  }
}
