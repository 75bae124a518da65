// The client students use to talk to one or more teachers: handshake, pipelined infer() calls,
// reconnection with exponential backoff, failover across URLs serving the same teacher, and a
// refusal to go on when the teacher's id changes.
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type ErrorCode, type InfoMessage, type ServerMessage, type SoftMessage, type WireTensor } from '../src/protocol/messages.js';
import { decodeFrame, encodeFrame } from '../src/protocol/codec.js';

export interface TeacherClientOptions {
  /** One or more ws:// URLs of teachers serving the same model. */
  urls: string[];
  token?: string;
  /** Refuse any teacher with another id (default: the first one reached). */
  teacherId?: string;
  /** Backoff between reconnection attempts (ms). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Give up after this long without a teacher (default: 60 s). */
  reconnectTimeoutMs?: number;
  /** Time to wait for the handshake of one connection attempt. */
  connectTimeoutMs?: number;
}

export interface InferOptions { temperature?: number; topK?: number; sample?: boolean; fp16?: boolean }

export class TeacherError extends Error {
  override name = 'TeacherError';
  constructor(readonly code: ErrorCode | 'teacher_changed' | 'unreachable' | 'closed' | 'bad_soft_labels' | 'no_tokenizer', message: string) { super(message); }
}

interface PendingRequest {
  id: number;
  frame: Buffer;
  resolve(m: SoftMessage): void;
  reject(e: Error): void;
  sent: boolean;
}

export class TeacherClient extends EventEmitter {
  info!: InfoMessage;
  private ws: WebSocket | undefined;
  private urlIndex = 0;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly waiting: PendingRequest[] = [];
  private inflight = 0;
  private closed = false;
  private reconnecting: Promise<void> | undefined;

  private constructor(private readonly options: TeacherClientOptions) {
    super();
    if (options.urls.length === 0) throw new TeacherError('unreachable', 'no teacher URL given');
  }

  static async connect(options: TeacherClientOptions): Promise<TeacherClient> {
    const client = new TeacherClient(options);
    await client.reconnect();
    return client;
  }

  get teacherId(): string { return this.info.teacher_id; }
  get url(): string { return this.options.urls[this.urlIndex]!; }

  /** Soft labels for one batch. Requests are pipelined up to the teacher's in-flight limit. */
  infer(inputs: Record<string, WireTensor>, options: InferOptions = {}): Promise<SoftMessage> {
    if (this.closed) return Promise.reject(new TeacherError('closed', 'the client is closed'));
    const id = this.nextId++;
    const frame = encodeFrame({
      type: 'infer', id, version: PROTOCOL_VERSION, inputs,
      temperature: options.temperature ?? 1, top_k: options.topK ?? 0, sample: options.sample ?? false, fp16: options.fp16 ?? false,
    });
    return new Promise((resolve, reject) => {
      const request: PendingRequest = { id, frame, resolve, reject, sent: false };
      this.pending.set(id, request);
      this.waiting.push(request);
      this.pump();
    });
  }

  private pump(): void {
    const limit = this.info?.limits.max_inflight ?? 1;
    while (this.ws?.readyState === WebSocket.OPEN && this.inflight < limit && this.waiting.length) {
      const r = this.waiting.shift()!;
      if (!this.pending.has(r.id)) continue;
      r.sent = true;
      this.inflight++;
      this.ws.send(r.frame);
    }
  }

  private onMessage(data: WebSocket.RawData): void {
    const msg = decodeFrame(data as Buffer) as ServerMessage;
    if (msg.type === 'info') return;
    const id = typeof msg.id === 'number' ? msg.id : undefined;
    const request = id !== undefined ? this.pending.get(id) : undefined;
    if (msg.type === 'soft') {
      if (!request) return;
      this.pending.delete(request.id);
      this.inflight--;
      if (msg.teacher_id !== this.info.teacher_id) request.reject(new TeacherError('teacher_changed', `answer from teacher ${msg.teacher_id}, expected ${this.info.teacher_id}`));
      else request.resolve(msg);
    } else if (msg.type === 'error') {
      if (!request) { this.emit('teacher-error', msg); return; }
      this.inflight--;
      if (msg.code === 'busy' || msg.code === 'shutting_down') {
        // Not the request's fault: send it again after a short pause (or to the next teacher).
        request.sent = false;
        setTimeout(() => { this.waiting.unshift(request); this.pump(); }, 20);
        return;
      }
      this.pending.delete(request.id);
      request.reject(new TeacherError(msg.code, msg.message));
    }
    this.pump();
  }

  /** Connects (or reconnects) to the first teacher that answers, trying each URL in turn. */
  private reconnect(): Promise<void> {
    if (this.reconnecting) return this.reconnecting;
    this.reconnecting = (async () => {
      const deadline = Date.now() + (this.options.reconnectTimeoutMs ?? 60_000);
      let backoff = this.options.minBackoffMs ?? 100;
      let lastError: Error | undefined;
      for (let attempt = 0; !this.closed; attempt++) {
        const url = this.options.urls[this.urlIndex]!;
        try {
          await this.open(url);
          this.emit('connected', url);
          return;
        } catch (err) {
          lastError = err as Error;
          if (err instanceof TeacherError && (err.code === 'teacher_changed' || err.code === 'unauthorized' || err.code === 'unsupported_version')) throw err;
          this.urlIndex = (this.urlIndex + 1) % this.options.urls.length;
          if (Date.now() > deadline) break;
          // Full pass over the URLs without luck: back off before the next.
          if (this.urlIndex === 0 || this.options.urls.length === 1) {
            await new Promise((r) => setTimeout(r, backoff));
            backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5000);
          }
        }
      }
      throw new TeacherError(this.closed ? 'closed' : 'unreachable', `no teacher reachable at ${this.options.urls.join(', ')}: ${lastError?.message ?? 'closed'}`);
    })().finally(() => { this.reconnecting = undefined; });
    return this.reconnecting;
  }

  private open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: 1 << 30 });
      let settled = false;
      const timer = setTimeout(() => done(new TeacherError('unreachable', `no handshake from ${url} in time`)), this.options.connectTimeoutMs ?? 10_000);
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) { ws.removeAllListeners(); ws.on('error', () => {}); ws.terminate(); reject(err); } else resolve();
      };
      ws.on('open', () => ws.send(encodeFrame({ type: 'hello', id: 0, version: PROTOCOL_VERSION, token: this.options.token })));
      ws.on('error', (err) => done(err));
      ws.on('close', () => done(new TeacherError('unreachable', `${url} closed the connection during the handshake`)));
      ws.once('message', (data) => {
        const msg = decodeFrame(data as Buffer) as ServerMessage;
        if (msg.type === 'error') return done(new TeacherError(msg.code, msg.message));
        if (msg.type !== 'info') return done(new TeacherError('bad_request', `expected info, got ${msg.type}`));
        const expected = this.options.teacherId ?? this.info?.teacher_id;
        if (expected && msg.teacher_id !== expected) {
          return done(new TeacherError('teacher_changed', `teacher at ${url} is ${msg.teacher_id.slice(0, 12)}, not ${expected.slice(0, 12)}: refusing to mix soft labels of different teachers`));
        }
        this.info = msg;
        this.ws = ws;
        ws.removeAllListeners('close');
        ws.removeAllListeners('error');
        ws.on('message', (d) => this.onMessage(d));
        ws.on('error', () => { /* 'close' follows */ });
        ws.on('close', () => this.onDisconnect(ws));
        // Everything sent to the previous teacher and not answered goes again.
        for (const r of [...this.pending.values()].filter((p) => p.sent)) { r.sent = false; this.waiting.unshift(r); }
        this.inflight = 0;
        done();
        this.pump();
      });
    });
  }

  private onDisconnect(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    if (this.closed) return;
    this.emit('disconnected', this.url);
    this.reconnect().catch((err: Error) => {
      for (const r of this.pending.values()) r.reject(err);
      this.pending.clear();
      this.waiting.length = 0;
      this.emit('error', err);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.pending.values()) r.reject(new TeacherError('closed', 'the client was closed'));
    this.pending.clear();
    this.waiting.length = 0;
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => { ws.once('close', () => resolve()); ws.close(1000); setTimeout(resolve, 1000).unref(); });
    }
  }
}
