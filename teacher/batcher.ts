// The dynamic batcher: requests from every connection wait in one queue and run together, up to
// maxBatch rows or maxWaitMs after the first arrived, whichever comes first. Sequences of different
// lengths are padded to the longest; each request gets its own rows (and positions) back.
import { Tensor } from '../src/onnx/tensor.js';
import { fromOrt, toOrt } from '../src/onnx/runtime.js';
import type { TeacherModel } from './model.js';
import { INPUT } from '../src/format/names.js';

export interface BatchRequest {
  /** Model inputs, each [rows, ...]; int64 for ids and masks, float32 for pixels. */
  inputs: Record<string, Tensor>;
  rows: number;
  /** Sequence length of this request (text models). */
  seq?: number;
}

export interface BatchResult {
  /** Logits for the request's rows: [rows, classes] or [rows, seq, vocab]. */
  logits: Float32Array;
  dims: number[];
}

interface Pending extends BatchRequest {
  resolve(result: BatchResult): void;
  reject(err: Error): void;
  enqueued: number;
}

export interface BatcherStats { batchSize(rows: number): void; latency(seconds: number): void; queueDepth(n: number): void }

export class DynamicBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly model: TeacherModel,
    private readonly maxBatch: number,
    private readonly maxWaitMs: number,
    private readonly stats?: BatcherStats,
  ) {}

  get depth(): number { return this.queue.length; }

  submit(request: BatchRequest): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new Error('the batcher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject, enqueued: performance.now() });
      this.queuedRows += request.rows;
      this.stats?.queueDepth(this.queue.length);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queuedRows >= this.maxBatch) { this.clearTimer(); void this.flush(); return; }
    if (!this.timer && this.queue.length > 0) {
      const waited = performance.now() - this.queue[0]!.enqueued;
      this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, Math.max(0, this.maxWaitMs - waited));
    }
  }

  private clearTimer(): void {
    if (this.timer) { clearTimeout(this.timer); this.timer = undefined; }
  }

  private take(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length && rows + this.queue[0]!.rows <= this.maxBatch) {
      const p = this.queue.shift()!;
      rows += p.rows;
      batch.push(p);
    }
    this.queuedRows -= rows;
    return batch;
  }

  private async flush(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.take();
        this.stats?.queueDepth(this.queue.length);
        await this.runBatch(batch);
        // Below a full batch, wait for more unless time is already up for the oldest.
        if (this.queuedRows < this.maxBatch && this.queue.length && performance.now() - this.queue[0]!.enqueued < this.maxWaitMs) break;
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length) this.schedule();
    else for (const w of this.idleWaiters.splice(0)) w();
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const rows = batch.reduce((a, p) => a + p.rows, 0);
    this.stats?.batchSize(rows);
    try {
      const feeds = this.merge(batch, rows);
      const out = await this.model.session.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, toOrt(t)])), [this.model.logits]);
      const logits = fromOrt(out[this.model.logits]!);
      this.split(batch, logits);
    } catch (err) {
      for (const p of batch) p.reject(err as Error);
    }
  }

  /** Concatenates requests along the batch dim, padding the sequence dim of text inputs. */
  private merge(batch: Pending[], rows: number): Record<string, Tensor> {
    const feeds: Record<string, Tensor> = {};
    const seq = Math.max(...batch.map((p) => p.seq ?? 0));
    for (const spec of [...this.model.inputs, ...this.model.filled]) {
      const first = batch[0]!.inputs[spec.name]!;
      if (batch[0]!.seq !== undefined && first.dims.length === 2) {
        const data = new BigInt64Array(rows * seq);
        const pad = spec.name === INPUT.ids ? BigInt(this.model.padId) : 0n;
        data.fill(pad);
        let r0 = 0;
        for (const p of batch) {
          const src = p.inputs[spec.name]!.data as BigInt64Array;
          const s = p.seq!;
          for (let r = 0; r < p.rows; r++) data.set(src.subarray(r * s, (r + 1) * s), (r0 + r) * seq);
          r0 += p.rows;
        }
        feeds[spec.name] = new Tensor('int64', [rows, seq], data);
      } else {
        const per = first.size / batch[0]!.rows;
        const data = first.dtype === 'int64' ? new BigInt64Array(rows * per) : new Float32Array(rows * per);
        let offset = 0;
        for (const p of batch) { (data as Float32Array).set(p.inputs[spec.name]!.data as Float32Array, offset); offset += p.rows * per; }
        feeds[spec.name] = new Tensor(first.dtype, [rows, ...first.dims.slice(1)], data);
      }
    }
    return feeds;
  }

  private split(batch: Pending[], logits: Tensor): void {
    const data = logits.data as Float32Array;
    const vocab = logits.dims.at(-1)!;
    let r0 = 0;
    const now = performance.now();
    for (const p of batch) {
      if (this.model.perPosition) {
        const seq = logits.dims[1]!, s = p.seq!;
        const out = new Float32Array(p.rows * s * vocab);
        for (let r = 0; r < p.rows; r++) out.set(data.subarray(((r0 + r) * seq) * vocab, ((r0 + r) * seq + s) * vocab), r * s * vocab);
        p.resolve({ logits: out, dims: [p.rows, s, vocab] });
      } else {
        p.resolve({ logits: data.slice(r0 * vocab, (r0 + p.rows) * vocab), dims: [p.rows, vocab] });
      }
      this.stats?.latency((now - p.enqueued) / 1000);
      r0 += p.rows;
    }
  }

  /** Resolves once every queued request has been answered. */
  drain(): Promise<void> {
    if (!this.queue.length && !this.running) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
  }
}
