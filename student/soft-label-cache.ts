// Soft labels on disk, keyed by (teacher id, input digest, temperature, k, top k or sampled): later epochs and reruns
// reuse them, and `--offline` trains from them alone.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pack, unpack } from 'msgpackr';
import { Tensor, type DType } from '../src/onnx/tensor.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { sha256 } from '../src/util/sha256.js';
import type { InfoMessage } from '../src/protocol/messages.js';

export function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'minnow', 'soft-labels');
}

/** sha256 over the input tensors (names, dims, bytes) in name order. */
export function inputDigest(inputs: Record<string, Tensor>): string {
  const utf8 = new TextEncoder();
  return sha256(Object.keys(inputs).sort().flatMap((name) => [utf8.encode(name), utf8.encode(JSON.stringify(inputs[name]!.dims)), inputs[name]!.bytes()]));
}

type Stored = Record<string, { dtype: DType; dims: number[]; bytes: Uint8Array }>;

export class SoftLabelCache {
  readonly dir: string;
  hits = 0;
  misses = 0;

  constructor(root: string, readonly teacherId: string, temperature: number, topK: number, sampled = false) {
    this.dir = path.join(root, teacherId.slice(0, 32), `T${temperature}-${sampled ? 's' : 'k'}${topK}`);
  }

  private file(digest: string): string {
    return path.join(this.dir, digest.slice(0, 2), `${digest}.msgpack`);
  }

  async get(digest: string): Promise<Record<string, Tensor> | undefined> {
    const inFlight = this.writing.get(digest);
    if (inFlight) { this.hits++; return inFlight; }
    let bytes: Buffer;
    try { bytes = await fs.readFile(this.file(digest)); } catch { this.misses++; return undefined; }
    this.hits++;
    const stored = unpack(bytes) as Stored;
    return Object.fromEntries(Object.entries(stored).map(([k, t]) => [k, Tensor.fromBytes(t.dtype, t.dims, t.bytes)]));
  }

  private readonly pending = new Set<Promise<void>>();
  /** Entries whose files are still being written, so that reads in the meantime hit. */
  private readonly writing = new Map<string, Record<string, Tensor>>();
  private writeError: Error | undefined;

  /**
   * Stores soft labels without making the caller wait: training goes on while the file is written.
   * `flush()` waits for every write and reports the first failure.
   */
  put(digest: string, feeds: Record<string, Tensor>): void {
    const stored: Stored = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, bytes: t.bytes() }]));
    this.writing.set(digest, feeds);
    const write = writeFileAtomic(this.file(digest), pack(stored), { durable: false })
      .catch((err: Error) => { this.writeError ??= err; })
      .finally(() => { this.pending.delete(write); this.writing.delete(digest); });
    this.pending.add(write);
  }

  async flush(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    if (this.writeError) throw new Error(`could not write the soft-label cache in ${this.dir}: ${this.writeError.message}`);
  }

  /** The teacher's info message, kept so that an offline run knows the tokenizer and labels. */
  static async saveInfo(root: string, info: InfoMessage): Promise<void> {
    await writeFileAtomic(path.join(root, info.teacher_id.slice(0, 32), 'info.json'), JSON.stringify(info));
  }

  static async loadInfo(root: string, teacherId?: string): Promise<InfoMessage> {
    let ids: string[];
    try { ids = (await fs.readdir(root)).filter((d) => /^[0-9a-f]{32}$/.test(d)); } catch { ids = []; }
    const wanted = teacherId ? ids.filter((d) => teacherId.startsWith(d)) : ids;
    if (wanted.length !== 1) {
      throw new Error(wanted.length === 0
        ? `no cached teacher${teacherId ? ` ${teacherId.slice(0, 12)}` : ''} in ${root}: run once with --teacher to fill the cache`
        : `${root} holds soft labels of ${wanted.length} teachers; pass --teacher-id`);
    }
    return JSON.parse(await fs.readFile(path.join(root, wanted[0]!, 'info.json'), 'utf8')) as InfoMessage;
  }
}
