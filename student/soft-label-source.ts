// Where a student's soft labels come from: the soft-label cache on disk first, the teacher (over
// WebSocket) for the rest, requested ahead of the batch training so that the teacher works while the
// student does. One source serves the training batches and the validation agreement.
import type { Batch } from '../src/data/batching.js';
import type { SoftLabelFeed } from '../src/train/job.js';
import { TEACHER_INPUTS, EMPTY_SLOT } from '../src/train/distill-loss.js';
import { Tensor } from '../src/onnx/tensor.js';
import { fromHalfArray } from '../src/format/fp16.js';
import type { InfoMessage, SoftMessage, WireTensor } from '../src/protocol/messages.js';
import type { Task } from '../src/format/metadata.js';
import { TeacherClient, TeacherError } from './teacher-client.js';
import { softLabelProblem } from './soft-label-checks.js';
import { SoftLabelCache, inputDigest } from './soft-label-cache.js';
import { joinFeeds, rowOf, splitFeeds, stackRows, type Row } from './rows.js';
import { VocabMap } from './vocab-map.js';
import type { TokenizerJson } from '../src/data/tokenizers/index.js';

export interface SoftLabelSourceOptions {
  /** ws:// URLs of replicas serving the same teacher, all used at once; none: the cache alone (offline). */
  teachers: string[];
  token?: string;
  /** PEM of the CA behind wss:// teachers' certificates (a private one). */
  ca?: string;
  /** Refuse any other teacher (and, offline, pick this one's cache). */
  teacherId?: string;
  cacheDir: string;
  /** The temperature of the soft labels, or how to choose it from the teacher's task. */
  temperature: number | ((task: Task) => number);
  /** Top-k soft labels from a language-model teacher (default 32); classifier teachers send full distributions. */
  topK?: number;
  /** Language models: topK tokens drawn from the teacher's distribution instead of its top k. */
  sample?: boolean;
  /** Keep soft labels on disk (false for augmented views, which are new inputs every epoch). */
  cache: boolean;
  /** Batches requested ahead of the one training (default 8). */
  prefetch?: number;
}

function wire(t: Tensor): WireTensor {
  return { dtype: t.dtype as 'int64' | 'float32', dims: t.dims, data: t.data };
}

/** The graph feeds a soft message stands for (fp16 widened to float32). */
function feedsOf(msg: SoftMessage): Record<string, Tensor> {
  const values = msg.fp16 ? fromHalfArray(msg.log_probs as Uint16Array) : (msg.log_probs as Float32Array);
  const positions = msg.dims.reduce((a, b) => a * b, 1);
  const width = values.length / positions;
  const feeds: Record<string, Tensor> = { [TEACHER_INPUTS.logProbs]: new Tensor('float32', [...msg.dims, width], values) };
  if (msg.format !== 'full') {
    feeds[TEACHER_INPUTS.indices] = new Tensor('int64', [...msg.dims, width], BigInt64Array.from(msg.indices!, (v) => BigInt(v)));
    feeds[TEACHER_INPUTS.tailMass] = new Tensor('float32', [...msg.dims], msg.tail_mass!);
  }
  return feeds;
}

/** The token drawn most often (the first of them on a tie): a sampled teacher's best guess. */
function mostDrawn(draws: BigInt64Array): number {
  const counts = new Map<bigint, number>();
  let best = draws[0]!, most = 0;
  for (const d of draws) {
    const c = (counts.get(d) ?? 0) + 1;
    counts.set(d, c);
    if (c > most) { most = c; best = d; }
  }
  return Number(best);
}

/** What a source asks its teacher for, settled once from the teacher's task. */
interface Request {
  /** The temperature of the soft labels. */
  temperature: number;
  /** The k most likely tokens plus the tail, or (0) full distributions. */
  topK: number;
  /** Whether the k tokens are drawn from the teacher's distribution rather than its top k. */
  sampled: boolean;
}

export class SoftLabelSource implements SoftLabelFeed {
  private readonly padId: number;
  readonly temperature: number;
  readonly topK: number;
  readonly sampled: boolean;
  /** Set when the student reads text with a pruned copy of the teacher's vocabulary. */
  private vocab: VocabMap | undefined;

  private constructor(
    readonly info: InfoMessage,
    private readonly client: TeacherClient | undefined,
    private readonly cache: SoftLabelCache | undefined,
    private readonly options: SoftLabelSourceOptions,
    request: Request,
  ) {
    const pre = info.preprocessing ? (JSON.parse(info.preprocessing) as { pad_id?: number }) : {};
    this.padId = pre.pad_id ?? 0;
    ({ temperature: this.temperature, topK: this.topK, sampled: this.sampled } = request);
  }

  /** Connects to the teachers (and records their info with the cache), or reads a cached teacher's info offline. */
  static async open(options: SoftLabelSourceOptions): Promise<SoftLabelSource> {
    let client: TeacherClient | undefined;
    let info: InfoMessage;
    if (options.teachers.length) {
      client = await TeacherClient.connect({ urls: options.teachers, token: options.token, ca: options.ca, teacherId: options.teacherId });
      info = client.info;
      await SoftLabelCache.saveInfo(options.cacheDir, info);
    } else {
      info = await SoftLabelCache.loadInfo(options.cacheDir, options.teacherId);
    }
    const topK = info.task === 'lm' ? (options.topK ?? 32) : 0;
    const request: Request = {
      temperature: typeof options.temperature === 'number' ? options.temperature : options.temperature(info.task as Task),
      topK, sampled: Boolean(options.sample) && topK > 0,
    };
    const cache = options.cache ? new SoftLabelCache(options.cacheDir, info.teacher_id, request.temperature, topK, request.sampled) : undefined;
    return new SoftLabelSource(info, client, cache, options, request);
  }

  /** How errors name the teacher: its URL and the start of its id. */
  private get teacherName(): string {
    return `teacher ${this.client!.url} (${this.info.teacher_id.slice(0, 12)})`;
  }

  get stats(): { hits: number; misses: number } {
    return { hits: this.cache?.hits ?? 0, misses: this.cache?.misses ?? 0 };
  }

  /**
   * The tokenizer the student reads text with: where it numbers tokens otherwise than the teacher's
   * (--vocab-prune), requests and soft labels are mapped between the two. The cache keeps the
   * teacher's ids, so pruned and unpruned students share it.
   */
  useStudentTokenizer(student: TokenizerJson): void {
    this.vocab = this.info.tokenizer ? VocabMap.between(JSON.parse(this.info.tokenizer) as TokenizerJson, student) : undefined;
  }

  /** Soft labels for a batch, over the student's tokens (a classifier's are over its classes, never remapped). */
  async forBatch(batch: Batch): Promise<Record<string, Tensor>> {
    const feeds = await this.teacherFeeds(batch);
    return this.vocab && this.info.task === 'lm' ? this.vocab.studentFeeds(feeds) : feeds;
  }

  /** The teacher's soft labels for a batch: cached rows from disk, the rest from the teacher in one request. */
  private async teacherFeeds(batch: Batch): Promise<Record<string, Tensor>> {
    const rows = Array.from({ length: batch.labels!.dims[0]! }, (_, r) => {
      const row = rowOf(batch, r);
      return this.vocab ? this.vocab.teacherRow(row) : row;
    });
    const digests = rows.map(inputDigest);
    const parts = await Promise.all(digests.map((d) => this.cache?.get(d)));
    const missing = parts.flatMap((p, i) => (p ? [] : [i]));
    if (missing.length) {
      if (!this.client) throw new Error(`soft labels for ${missing.length} examples are not in the cache (${this.cache?.dir}); run online with --teacher first, or give the --temperature and --top-k the cache was filled with`);
      const answers = await this.ask(missing.map((i) => rows[i]!));
      this.check(answers, missing.map((i) => digests[i]!));
      const stored = new Set<string>();
      missing.forEach((i, j) => {
        parts[i] = answers[j];
        // A batch may hold the same example twice (duplicate mails); store it once.
        if (this.cache && !stored.has(digests[i]!)) this.cache.put(digests[i]!, answers[j]!);
        stored.add(digests[i]!);
      });
    }
    return joinFeeds(parts as Record<string, Tensor>[]);
  }

  /** The teacher's answers for rows, in requests of at most its max_batch rows (sent at once, to any replicas). */
  private async ask(rows: Row[]): Promise<Record<string, Tensor>[]> {
    const most = this.info.limits.max_batch;
    const chunks = Array.from({ length: Math.ceil(rows.length / most) }, (_, c) => rows.slice(c * most, (c + 1) * most));
    const answers = await Promise.all(chunks.map(async (chunk) => {
      const request = stackRows(chunk, this.padId);
      const msg = await this.client!.infer(Object.fromEntries(Object.entries(request).map(([k, t]) => [k, wire(t)])), { temperature: this.temperature, topK: this.topK, sample: this.sampled });
      this.checkKind(msg);
      return splitFeeds(feedsOf(msg), chunk.length);
    }));
    return answers.flat();
  }

  /** A teacher that predates a request field ignores it: refuse answers of another kind than asked for. */
  private checkKind(msg: SoftMessage): void {
    const who = this.teacherName;
    if (this.sampled && msg.format !== 'sampled') {
      throw new TeacherError('bad_soft_labels', `${who} answered ${msg.format} soft labels to a request for sampled ones; upgrade its minnow or distill with --soft-labels topk`);
    }
    if (msg.temperature !== this.temperature) {
      throw new TeacherError('bad_soft_labels', `${who} answered at temperature ${msg.temperature}, not the ${this.temperature} asked for; upgrade its minnow`);
    }
  }

  /**
   * Stops the run on soft labels no student should learn from (NaN, flat, or blind to the input),
   * checked on the distinct examples of every answer before any is cached or trained on.
   */
  private check(answers: Record<string, Tensor>[], digests: string[]): void {
    const first = new Map<string, Record<string, Tensor>>();
    digests.forEach((d, j) => { if (!first.has(d)) first.set(d, answers[j]!); });
    const problem = softLabelProblem(joinFeeds([...first.values()]), first.size, { sampled: this.sampled });
    if (problem) {
      throw new TeacherError('bad_soft_labels', `${this.teacherName}: ${problem}; check it with minnow eval before distilling from it`);
    }
  }

  /** Each batch with its soft labels, `prefetch` batches requested ahead of the one training. */
  *attach(batches: Iterable<Batch>): Generator<{ batch: Batch; soft: Promise<Record<string, Tensor>> }> {
    const depth = this.options.prefetch ?? 8;
    const queue: { batch: Batch; soft: Promise<Record<string, Tensor>> }[] = [];
    const iterator = batches[Symbol.iterator]();
    for (;;) {
      while (queue.length < depth) {
        const next = iterator.next();
        if (next.done) break;
        const soft = this.forBatch(next.value);
        soft.catch(() => { /* surfaced when awaited */ });
        queue.push({ batch: next.value, soft });
      }
      const head = queue.shift();
      if (!head) return;
      yield head;
    }
  }

  /** The teacher's argmax for each target of a batch; -1 where none of its tokens is the student's. */
  async predictions(batch: Batch): Promise<Int32Array> {
    const feeds = await this.forBatch(batch);
    const lp = feeds[TEACHER_INPUTS.logProbs]!;
    const width = lp.dims.at(-1)!;
    const values = lp.data as Float32Array;
    const idx = feeds[TEACHER_INPUTS.indices]?.data as BigInt64Array | undefined;
    return Int32Array.from({ length: lp.size / width }, (_, r) => {
      if (idx && values[r * width] === EMPTY_SLOT) return -1; // filled slots come first
      if (idx && !this.sampled) return Number(idx[r * width]); // top-k arrives sorted
      if (idx) return mostDrawn(idx.subarray(r * width, (r + 1) * width).filter((_, s) => values[r * width + s]! !== EMPTY_SLOT));
      let best = 0;
      for (let j = 1; j < width; j++) if (values[r * width + j]! > values[r * width + best]!) best = j;
      return best;
    });
  }

  /** Waits for the cache's writes and reports the first that failed. */
  async flush(): Promise<void> {
    await this.cache?.flush();
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}
