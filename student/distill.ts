// `minnow distill` as a library call: a student learns from a live teacher's soft labels (or from
// the cache of an earlier run), through the core trainer with a distillation loss.
import path from 'node:path';
import { train, type TeacherHooks, type TrainJobOptions, type TrainReport } from '../src/train/job.js';
import { distillationLoss } from '../src/train/distill-loss.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import type { Task } from '../src/format/metadata.js';
import type { InfoMessage } from '../src/protocol/messages.js';
import { NO_LABEL } from '../src/data/unlabeled.js';
import { formatModelSpec, parseModelSpec } from '../src/nn/spec.js';
import { defaultCacheDir } from './soft-label-cache.js';
import { TeacherError } from './teacher-client.js';
import { SoftLabelSource } from './soft-label-source.js';

export const STUDENT_PRESETS: Record<Task, string> = {
  classify: 'student-tiny',
  lm: 'student-lm-tiny',
  image: 'student-image',
};

/**
 * Temperature by task. A text classifier's teacher is sure of almost every training example; at
 * T 2 the student's confident answers are softened too, so every example it already gets right
 * keeps a gradient, and under AdamW those drown the few it gets wrong (bench/RESULTS.md, "The spam
 * recipe"). At T 1 they fall silent as with hard labels.
 */
export const DEFAULT_TEMPERATURE: Record<Task, number> = {
  classify: 1,
  lm: 2,
  image: 2,
};

/**
 * The run's own settings mean what they mean for `minnow train` (TrainJobOptions); the student's
 * architecture is `student`, and its tokenizer is the teacher's.
 */
export interface DistillOptions extends Omit<TrainJobOptions, 'task' | 'model' | 'tokenizer' | 'vocabSize' | 'teacher'> {
  /** ws:// URLs of replicas serving the same teacher, all used at once. */
  teachers?: string[];
  token?: string;
  /** PEM of the CA behind wss:// teachers' certificates (a private one). */
  ca?: string;
  /** Needed only without a teacher (--no-teacher); otherwise the teacher's info names it. */
  task?: Task;
  /** Student spec or preset (default by task: student-tiny, student-lm-tiny, student-image; with initFrom, the file's). */
  student?: string;
  alpha?: number;
  /** Softmax temperature of teacher and student (default by task: DEFAULT_TEMPERATURE). */
  temperature?: number;
  /** Top-k soft labels for language models (classifiers always get full distributions). */
  topK?: number;
  /** Language models: `topK` tokens drawn from the teacher's distribution instead of its top k. */
  sample?: boolean;
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

/** The distillation settings a run keeps in its checkpoint; a resumed run takes them from there. */
interface DistillSettings { teacherId?: string; alpha: number; temperature: number; topK: number; sample?: boolean; noTeacher: boolean; partlyLabelled?: boolean }

/** The teachers' soft labels (live or cached), or none for the --no-teacher baseline without a teacher. */
export async function openSource(options: DistillOptions, saved: Partial<DistillSettings> | undefined, noTeacher: boolean): Promise<SoftLabelSource | undefined> {
  const online = Boolean(options.teachers?.length) && !options.offline;
  if (!online && !options.offline) {
    if (noTeacher) return undefined;
    throw new Error('distill needs --teacher URL (or --offline with a warm cache, or --no-teacher for the baseline)');
  }
  // Augmented views are new inputs every epoch: the teacher labels each, and caching them would
  // only fill the disk.
  if (options.augment && options.offline) throw new Error('--augment needs the teacher for every new view of an example; it cannot run --offline');
  return SoftLabelSource.open({
    teachers: online ? options.teachers! : [], token: options.token, ca: options.ca, teacherId: saved?.teacherId ?? options.teacherId,
    cacheDir: options.cacheDir ?? defaultCacheDir(), temperature: saved?.temperature ?? options.temperature ?? ((task) => DEFAULT_TEMPERATURE[task]),
    topK: saved?.topK ?? options.topK, sample: saved ? saved.sample : options.sample, cache: !options.augment, prefetch: options.prefetch,
  });
}

/** The task's student preset, its context cut to the teacher's longest sequence where that is shorter. */
export function presetFor(task: Task, maxSeq: number | undefined): string {
  const arch = parseModelSpec(STUDENT_PRESETS[task]);
  if (arch.kind !== 'transformer' || !maxSeq || arch.ctx <= maxSeq) return STUDENT_PRESETS[task];
  return formatModelSpec({ ...arch, ctx: maxSeq });
}

/** A text teacher without a tokenizer gives ids that no tokenizer here reproduces: stop before training. */
export function checkTokenizer(source: SoftLabelSource | undefined, task: Task): void {
  if (!source || task === 'image' || source.info.tokenizer) return;
  throw new TeacherError('no_tokenizer', `the teacher (${source.info.teacher_id.slice(0, 12)}) serves a text model without a tokenizer, so its token ids cannot be matched; serve it with 'minnow teacher serve MODEL --tokenizer tokenizer.json'`);
}

function taskOf(options: DistillOptions, info: InfoMessage | undefined, resumedTask: Task | undefined): Task {
  const task = (info?.task as Task | undefined) ?? resumedTask ?? options.task;
  if (!task) throw new Error('the task is unknown: give --teacher (its info names it) or --task');
  if (options.task && info && options.task !== info.task) throw new Error(`--task ${options.task} but the teacher's task is ${info.task}`);
  return task;
}

/** What the teacher adds to the student's training run. */
function teacherHooks(source: SoftLabelSource | undefined, settings: DistillSettings, baseline: DistillOptions['baseline']): TeacherHooks {
  const { alpha, temperature, topK, noTeacher, partlyLabelled } = settings;
  const ignoreLabel = partlyLabelled ? NO_LABEL : undefined;
  const info = source?.info;
  return {
    tokenizerJson: info?.tokenizer,
    labels: info?.labels,
    maxSeq: info?.limits.max_seq,
    buildLoss: noTeacher ? undefined : (g, logits, labels) => distillationLoss(g, logits, labels, { alpha, temperature, topK, hardLabels: true, ignoreLabel }),
    softLabels: noTeacher ? undefined : source,
    teacherPredictions: source ? (batch) => source.predictions(batch) : undefined,
    studentTokenizer: source ? (json) => source.useStudentTokenizer(json) : undefined,
    checkpointConfig: { ...settings, teacherId: info?.teacher_id },
    reportExtra: (r) => {
      // Higher is better: accuracy, or minus the validation loss for language models.
      const score = (m: Record<string, number>) => (m.accuracy !== undefined ? m.accuracy : -(m.val_loss ?? NaN));
      return {
        teacher_id: info?.teacher_id ?? null,
        teacher_metrics: info?.metrics ?? null,
        student_params: r.params,
        compression_ratio: info?.params ? info.params / r.params : null,
        kd_gain_vs_baseline: baseline ? score(r.metrics as Record<string, number>) - score(baseline.metrics) : null,
        distillation: noTeacher ? null : { alpha, temperature, top_k: topK, soft_labels: topK === 0 ? 'full' : settings.sample ? 'sampled' : 'topk', cache_hits: source?.stats.hits ?? 0, cache_misses: source?.stats.misses ?? 0 },
      };
    },
  };
}

/** The options that mean for the student's run what they mean for `minnow train`. */
function runOptions(options: DistillOptions): Omit<TrainJobOptions, 'task'> {
  const { teachers, token, ca, task, student, alpha, temperature, topK, sample, offline, noTeacher, teacherId, cacheDir, prefetch, baseline, ...run } = options;
  return run;
}

export async function distill(options: DistillOptions): Promise<DistillReport> {
  const resumed = options.resume ? await loadCheckpoint(path.join(options.resume, 'checkpoint')) : undefined;
  const saved = resumed?.config.teacher as DistillSettings | undefined;
  const noTeacher = saved?.noTeacher ?? options.noTeacher ?? false;
  const source = await openSource(options, saved, noTeacher);
  try {
    const task = taskOf(options, source?.info, (resumed?.config.run as { task?: Task } | undefined)?.task);
    checkTokenizer(source, task);
    const settings: DistillSettings = {
      alpha: saved?.alpha ?? options.alpha ?? 0.5, temperature: saved?.temperature ?? source?.temperature ?? options.temperature ?? DEFAULT_TEMPERATURE[task],
      topK: source?.topK ?? (task === 'lm' ? (saved?.topK ?? options.topK ?? 32) : 0), noTeacher,
      sample: source?.sampled,
      partlyLabelled: saved ? saved.partlyLabelled : Boolean(options.unlabeled?.length),
    };
    const report = await train({
      ...runOptions(options), task, model: options.initFrom ? options.student : (options.student ?? presetFor(task, source?.info.limits.max_seq)),
      vocabSize: source?.info.tokenizer ? undefined : 4000, teacher: teacherHooks(source, settings, options.baseline),
    });
    await source?.flush();
    return report as DistillReport;
  } finally {
    await source?.close();
  }
}
