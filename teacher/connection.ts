// One student's socket: whether it said hello with a valid token, how many of its requests are in
// flight, and backpressure on the answers it has not read yet.
import type { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type ErrorCode, type ServerMessage } from '../src/protocol/messages.js';
import { encodeFrame } from '../src/protocol/codec.js';
import type { TeacherMetrics } from './metrics.js';

/** Above this many unsent bytes on a socket, stop reading from it until it drains. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

export class Connection {
  authed = false;
  inflight = 0;
  private paused = false;

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
    });
    if (!this.paused && ws.bufferedAmount > HIGH_WATER) { this.paused = true; ws.pause(); }
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
