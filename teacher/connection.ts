// One student's socket: whether it said hello with a valid token, how many of its requests are in
// flight, and backpressure on the answers it has not read yet: a client that stops reading gets
// no more answers computed for it than fit its byte budget, and no more of its frames read.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type ErrorCode, type ServerMessage } from '../src/protocol/messages.js';
import { encodeFrame } from '../src/protocol/codec.js';
import type { TeacherMetrics } from './metrics.js';

/** Above this many unsent bytes on a socket, stop reading from it until it drains. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/**
 * Bytes of answers a connection may hold, sent but unread or computed for it: requests beyond wait
 * (and hold their in-flight slot) until the client reads. One answer is always let through alone.
 */
export const ANSWER_BUDGET = 8 * 1024 * 1024;

export class Connection {
  authed = false;
  /** What its requests count against in rate limits: its token's sha256, or its address without tokens. */
  rateKey = '';
  inflight = 0;
  private paused = false;
  /** Bytes of answers being computed for this connection. */
  private reserved = 0;
  private waiters: (() => void)[] = [];
  /** Draining: answers go out whatever the budget, so that the server can finish. */
  private unbounded = false;

  constructor(
    readonly id: number,
    readonly ws: WebSocket,
    private readonly log: Logger,
    private readonly metrics: TeacherMetrics,
  ) {}

  send(message: ServerMessage): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    ws.send(encodeFrame(message), () => {
      if (this.paused && ws.bufferedAmount < LOW_WATER) { this.paused = false; ws.resume(); }
      this.wake();
    });
    if (!this.paused && ws.bufferedAmount > HIGH_WATER) { this.paused = true; ws.pause(); }
  }

  /**
   * Waits until an answer of about `bytes` fits the budget beside what waits to be sent; false if the
   * socket closed meanwhile (nobody is left to answer).
   */
  async reserve(bytes: number): Promise<boolean> {
    for (;;) {
      if (this.ws.readyState !== this.ws.OPEN) return false;
      const used = this.ws.bufferedAmount + this.reserved;
      if (this.unbounded || used === 0 || used + bytes <= ANSWER_BUDGET) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.reserved += bytes;
    return true;
  }

  /** The answer reserved for was sent (or failed): its bytes now count in the socket's buffer. */
  release(bytes: number): void {
    this.reserved -= bytes;
    this.wake();
  }

  /** Lets every waiting request through (the server drains), or wakes them to see the socket closed. */
  unbound(): void {
    this.unbounded = true;
    this.wake();
  }

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** An error message for request `id` (null when the frame had none), counted and logged. */
  fail(id: number | string | null, code: ErrorCode, message: string): void {
    this.metrics.errors.inc({ code });
    this.log.warn({ conn: this.id, request: id, code }, message);
    this.send({ type: 'error', id, version: PROTOCOL_VERSION, code, message });
  }

  /** Closes with `code`, and drops the socket if the peer has not closed it within 2 s. */
  close(code: number, reason: string): Promise<void> {
    const { ws } = this;
    return new Promise<void>((resolve) => {
      if (ws.readyState === ws.CLOSED) return resolve();
      ws.once('close', () => resolve());
      ws.close(code, reason);
      setTimeout(() => { ws.terminate(); resolve(); }, 2000).unref();
    });
  }
}
