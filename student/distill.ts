// `minnow distill` as a library call: a student learns from a live teacher's soft labels (or from
// the cache of an earlier run), through the core trainer with a distillation loss.
import { train, type TrainJobOptions, type TrainReport } from '../src/train/job.js';
import { distillationLoss, TEACHER_INPUTS } from '../src/train/distill-loss.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { Tensor } from '../src/onnx/tensor.js';
import type { Batch } from '../src/data/batching.js';
import type { Task } from '../src/format/metadata.js';
import { fromHalfArray } from '../src/format/fp16.js';
import type { InfoMessage, SoftMessage, WireTensor } from '../src/protocol/messages.js';
import { TeacherClient } from './teacher-client.js';
import { SoftLabelCache, defaultCacheDir, inputDigest } from './soft-label-cache.js';
import { joinFeeds, rowOf, splitFeeds, stackRows } from './rows.js';
import path from 'node:path';

export const STUDENT_PRESETS: Record<Task, string> = {
  classify: 'student-tiny',
  lm: 'student-lm-tiny',
  image: 'student-image',
};

/** The run's own settings mean what they mean for `minnow train` (TrainJobOptions). */
export interface DistillOptions extends Pick<TrainJobOptions,
  'data' | 'epochs' | 'batch' | 'lr' | 'seed' | 'device' | 'out' | 'resume' | 'maxSteps' | 'checkpointEvery' |
  'threads' | 'dataOptions' | 'onEvent' | 'signal' | 'prune' | 'initFrom' | 'augment' | 'qat'> {
  /** ws:// URLs of teachers serving the same model (failover in order). */
  teachers?: string[];
  token?: string;
  /** Needed only without a teacher (--no-teacher); otherwise the teacher's info names it. */
  task?: Task;
  /** Student spec or preset (default by task: student-tiny, student-lm-tiny, student-image; with initFrom, the file's). */
  student?: string;
  alpha?: number;
  temperature?: number;
  /** Top-k soft labels for language models (classifiers always get full distributions). */
  topK?: number;
  /** Train from the soft-label cache alone. */
  offline?: boolean;
  /** Train the same student on hard labels only: the baseline. */
  noTeacher?: boolean;
  teacherId?: string;
  cacheDir?: string;
  prefetch?: number;
  /** report.json of the --no-teacher baseline, for kd_gain_vs_baseline. */
  baseline?: { metrics: Record<string, number> };
}

export interface DistillReport extends TrainReport {
  teacher_id: string | null;
  teacher_metrics: unknown;
  student_params: number;
  compression_ratio: number | null;
  kd_gain_vs_baseline: number | null;
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
  if (msg.format === 'topk') {
    feeds[TEACHER_INPUTS.indices] = new Tensor('int64', [...msg.dims, width], BigInt64Array.from(msg.indices!, (v) => BigInt(v)));
    feeds[TEACHER_INPUTS.tailMass] = new Tensor('float32', [...msg.dims], msg.tail_mass!);
  }
  return feeds;
}

export async function distill(options: DistillOptions): Promise<DistillReport> {
  const resumed = options.resume ? await loadCheckpoint(path.join(options.resume, 'checkpoint')) : undefined;
  const saved = resumed?.config.teacher as { teacherId?: string; alpha: number; temperature: number; topK: number; noTeacher: boolean } | undefined;
  const noTeacher = saved?.noTeacher ?? options.noTeacher ?? false;
  const cacheRoot = options.cacheDir ?? defaultCacheDir();

  let client: TeacherClient | undefined;
  let info: InfoMessage | undefined;
  const expectedId = saved?.teacherId ?? options.teacherId;
  if (options.teachers?.length && !options.offline) {
    client = await TeacherClient.connect({ urls: options.teachers, token: options.token, teacherId: expectedId });
    info = client.info;
    await SoftLabelCache.saveInfo(cacheRoot, info);
  } else if (options.offline) {
    info = await SoftLabelCache.loadInfo(cacheRoot, expectedId);
  } else if (!noTeacher) {
    throw new Error('distill needs --teacher URL (or --offline with a warm cache, or --no-teacher for the baseline)');
  }

  const task = (info?.task ?? (resumed?.config.run as { task?: Task } | undefined)?.task ?? options.task) as Task | undefined;
  if (!task) throw new Error('the task is unknown: give --teacher (its info names it) or --task');
  if (options.task && info && options.task !== info.task) throw new Error(`--task ${options.task} but the teacher's task is ${info.task}`);
  const temperature = saved?.temperature ?? options.temperature ?? 2;
  const alpha = saved?.alpha ?? options.alpha ?? 0.5;
  // Full distributions for small label sets; top-k for vocabularies.
  const topK = task === 'lm' ? (saved?.topK ?? options.topK ?? 32) : 0;
  // Augmented views are new inputs every epoch: the teacher labels each, and caching them would
  // only fill the disk.
  if (options.augment && options.offline) throw new Error('--augment needs the teacher for every new view of an example; it cannot run --offline');
  const cache = info && !options.augment ? new SoftLabelCache(cacheRoot, info.teacher_id, temperature, topK) : undefined;

  const padId = info?.preprocessing ? ((JSON.parse(info.preprocessing) as { pad_id?: number }).pad_id ?? 0) : 0;
  /** Soft labels for a batch: cached rows from disk, the rest from the teacher in one request. */
  const softLabels = async (batch: Batch): Promise<Record<string, Tensor>> => {
    const n = batch.labels!.dims[0]!;
    const rows = Array.from({ length: n }, (_, r) => rowOf(batch, r));
    const digests = rows.map(inputDigest);
    const parts = await Promise.all(digests.map((d) => cache?.get(d)));
    const missing = parts.flatMap((p, i) => (p ? [] : [i]));
    if (missing.length) {
      if (!client) throw new Error(`soft labels for ${missing.length} examples are not in the cache (${cache?.dir}); run online with --teacher first`);
      const request = stackRows(missing.map((i) => rows[i]!), padId);
      const msg = await client.infer(Object.fromEntries(Object.entries(request).map(([k, t]) => [k, wire(t)])), { temperature, topK });
      const answers = splitFeeds(feedsOf(msg), missing.length);
      const stored = new Set<string>();
      missing.forEach((i, j) => {
        parts[i] = answers[j];
        // A batch may hold the same example twice (duplicate mails); store it once.
        if (cache && !stored.has(digests[i]!)) cache.put(digests[i]!, answers[j]!);
        stored.add(digests[i]!);
      });
    }
    return joinFeeds(parts as Record<string, Tensor>[]);
  };
  const teacherPredictions = async (batch: Batch): Promise<Int32Array> => {
    const feeds = await softLabels(batch);
    const lp = feeds[TEACHER_INPUTS.logProbs]!;
    const width = lp.dims.at(-1)!;
    const n = lp.size / width;
    const out = new Int32Array(n);
    const idx = feeds[TEACHER_INPUTS.indices]?.data as BigInt64Array | undefined;
    for (let r = 0; r < n; r++) {
      if (idx) { out[r] = Number(idx[r * width]); continue; } // top-k arrives sorted
      let best = 0;
      for (let j = 1; j < width; j++) if ((lp.data as Float32Array)[r * width + j]! > (lp.data as Float32Array)[r * width + best]!) best = j;
      out[r] = best;
    }
    return out;
  };

  try {
    const report = await train({
      task, data: options.data, model: options.initFrom ? options.student : (options.student ?? STUDENT_PRESETS[task]), initFrom: options.initFrom, epochs: options.epochs, batch: options.batch,
      lr: options.lr, seed: options.seed, device: options.device, out: options.out, resume: options.resume, maxSteps: options.maxSteps,
      checkpointEvery: options.checkpointEvery, threads: options.threads, dataOptions: options.dataOptions,
      onEvent: options.onEvent, signal: options.signal, prune: options.prune, augment: options.augment, qat: options.qat,
      vocabSize: info?.tokenizer ? undefined : 4000,
      teacher: {
        tokenizerJson: info?.tokenizer,
        labels: info?.labels,
        maxSeq: info?.limits.max_seq,
        buildLoss: noTeacher ? undefined : (g, logits, labels) => distillationLoss(g, logits, labels, { alpha, temperature, topK, hardLabels: true }),
        softLabels: noTeacher ? undefined : softLabels,
        teacherPredictions: info ? teacherPredictions : undefined,
        prefetch: options.prefetch ?? 8,
        checkpointConfig: { teacherId: info?.teacher_id, alpha, temperature, topK, noTeacher },
        reportExtra: (r) => {
          const teacherParams = info?.params;
          // Higher is better: accuracy, or minus the validation loss for language models.
          const score = (m: Record<string, number>) => (m.accuracy !== undefined ? m.accuracy : -(m.val_loss ?? NaN));
          return {
            teacher_id: info?.teacher_id ?? null,
            teacher_metrics: info?.metrics ?? null,
            student_params: r.params,
            compression_ratio: teacherParams ? teacherParams / r.params : null,
            kd_gain_vs_baseline: options.baseline ? score(r.metrics as Record<string, number>) - score(options.baseline.metrics) : null,
            distillation: noTeacher ? null : { alpha, temperature, top_k: topK, cache_hits: cache?.hits ?? 0, cache_misses: cache?.misses ?? 0 },
          };
        },
      },
    });
    await cache?.flush();
    return report as DistillReport;
  } finally {
    await client?.close();
  }
}
