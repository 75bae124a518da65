// The first steps of a training run: settle what the run is (from its options, a checkpoint to
// resume, or a model to start from), then read its data the way the model will.
import path from 'node:path';
import type { Task, Preprocessing } from '../format/metadata.js';
import { textContext, type ArchConfig, type ModelShape } from '../nn/models.js';
import { DEFAULT_MODEL, checkArchForTask, parseModelSpec, SpecError } from '../nn/spec.js';
import { DataError, loadDataset, type Dataset, type LoadOptions } from '../data/datasets.js';
import { loadUnlabeled, NO_LABEL } from '../data/unlabeled.js';
import { trainBpe, trainChars, tokenizerFromJSON, type Tokenizer } from '../data/tokenizers/index.js';
import type { Split } from '../data/split.js';
import type { FakeQuantOptions } from '../compress/quantize/schemes.js';
import { loadCheckpoint, type Checkpoint } from './checkpoint.js';
import { readInitModel, type InitModel } from './init-from.js';
import type { PruneSchedule } from './schedule.js';
import { splitSource, type SplitSource } from './sources.js';
import { pruneToTrainingSplit, type VocabPrune } from './vocab-prune.js';
import type { TeacherHooks, TrainJobOptions } from './job.js';

/** What a run is: kept in its checkpoint, so that --resume continues the same run. */
export interface RunConfig {
  task: Task; data: string; model: string; epochs: number; batch: number; lr: number; seed: number;
  tokenizer?: string; vocabSize?: number; optimizer: 'adamw' | 'sgd'; weightDecay: number; warmup: number;
  labelSmoothing: number; maxGradNorm: number; dataOptions: LoadOptions; prune?: PruneSchedule; initFrom?: string; augment?: boolean; qat?: FakeQuantOptions;
  unlabeled?: string[];
  /** Read text with the teacher's tokenizer cut to the tokens of the training split. */
  vocabPrune?: boolean;
}

export interface ResolvedRun {
  config: RunConfig;
  arch: ArchConfig;
  resumed?: Checkpoint;
  init?: InitModel;
  /** The tokenizer the run must read text with (resumed, the teacher's, or the starting model's). */
  tokenizerJson?: string;
}

function configFrom(options: TrainJobOptions, init: InitModel | undefined): RunConfig {
  return {
    task: options.task, data: options.data, model: init?.spec ?? options.model ?? DEFAULT_MODEL[options.task], initFrom: init?.file,
    epochs: options.epochs ?? 1, batch: options.batch ?? 32, lr: options.lr ?? 1e-3, seed: options.seed ?? 0,
    tokenizer: options.tokenizer, vocabSize: options.vocabSize, optimizer: options.optimizer ?? 'adamw',
    weightDecay: options.weightDecay ?? 0.01, warmup: options.warmup ?? 100, labelSmoothing: options.labelSmoothing ?? 0,
    maxGradNorm: options.maxGradNorm ?? 1, dataOptions: options.dataOptions ?? {}, prune: options.prune, augment: options.augment, qat: options.qat,
    unlabeled: options.unlabeled?.length ? options.unlabeled : undefined, vocabPrune: options.vocabPrune || undefined,
  };
}

export async function resolveRun(options: TrainJobOptions): Promise<ResolvedRun> {
  const resumed = options.resume ? await loadCheckpoint(path.join(options.resume, 'checkpoint')) : undefined;
  const init = !resumed && options.initFrom ? readInitModel(options.initFrom, options.task, options.model, options.verify) : undefined;
  const config = resumed ? (resumed.config.run as RunConfig) : configFrom(options, init);
  if (resumed && options.epochs) config.epochs = options.epochs;
  const arch = parseModelSpec(config.model);
  checkArchForTask(arch, config.task, config.model);
  const hooks = options.teacher;
  if (init?.tokenizerJson && hooks?.tokenizerJson && !sameJson(init.tokenizerJson, hooks.tokenizerJson)) {
    throw new DataError(`--init-from ${init.file} reads text with a different tokenizer than the teacher's; start from a model distilled from this teacher`);
  }
  if (config.unlabeled && !hooks?.softLabels) {
    throw new DataError('--unlabeled examples learn from a teacher\'s soft labels: use minnow distill with --teacher (not --no-teacher)');
  }
  const ctx = textContext(arch);
  if (hooks?.maxSeq && ctx !== undefined && ctx > hooks.maxSeq) {
    throw new SpecError(`the student's ctx ${ctx} exceeds the teacher's max sequence ${hooks.maxSeq}; use ctx=${hooks.maxSeq} or less`);
  }
  if (config.vocabPrune && (!hooks?.tokenizerJson || init)) {
    throw new DataError(init ? '--vocab-prune sizes a new student\'s vocabulary; it cannot start from --init-from' : '--vocab-prune cuts a teacher\'s tokenizer to the training split: distill from a teacher that serves one');
  }
  // A pruned run prunes the teacher's tokenizer again when resumed: the same split gives the same cut.
  const tokenizerJson = config.vocabPrune ? hooks!.tokenizerJson : (resumed?.config.tokenizer as string | undefined) ?? hooks?.tokenizerJson ?? init?.tokenizerJson;
  return { config, arch, resumed, init, tokenizerJson };
}

function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => JSON.stringify(typeof v === 'string' ? JSON.parse(v) : v);
  return norm(a) === norm(b);
}

/** The run's data, read the way its model reads it. */
export interface PreparedData {
  data: Dataset;
  tokenizer?: Tokenizer;
  splits: Record<Split, SplitSource>;
  shape: ModelShape;
  preprocessing: Preprocessing;
  labels?: string[];
  /** What --vocab-prune kept of the teacher's vocabulary. */
  vocabPrune?: VocabPrune;
  /** Training examples with labels, and without (NO_LABEL: soft labels alone). */
  counts: { labelled: number; unlabelled: number };
}

export function prepareData(run: ResolvedRun, hooks: TeacherHooks | undefined, log: (m: string) => void): PreparedData {
  const { config } = run;
  const labelled = loadDataset(config.data, config.task, config.dataOptions);
  const data = withUnlabeled(labelled, config, log);
  const prepared = data.task === 'image' ? imageData(data) : textData(data, run, log);
  if (run.init?.labels && prepared.labels && !sameJson(run.init.labels, prepared.labels)) {
    throw new DataError(`--init-from ${run.init.file} has labels ${JSON.stringify(run.init.labels)}, the data ${JSON.stringify(prepared.labels)}`);
  }
  if (hooks?.labels && prepared.labels && !sameJson(hooks.labels, prepared.labels)) {
    throw new DataError(`the teacher's labels ${JSON.stringify(hooks.labels)} differ from the data's ${JSON.stringify(prepared.labels)}`);
  }
  if (prepared.tokenizer && prepared.vocabPrune) hooks?.studentTokenizer?.(prepared.tokenizer.toJSON());
  if (prepared.splits.train.source.size === 0) throw new Error(`data '${config.data}' has no training examples`);
  const total = data.task === 'lm' ? 0 : data.splits.train.length, known = labelled.task === 'lm' ? 0 : labelled.splits.train.length;
  return { ...prepared, counts: { labelled: known, unlabelled: total - known } };
}

/** The labelled training split followed by every --unlabeled set's examples, each with NO_LABEL. */
function withUnlabeled(data: Dataset, config: RunConfig, log: (m: string) => void): Dataset {
  if (!config.unlabeled?.length) return data;
  // Refuses a language model's run in one line before any set is read.
  const sets = config.unlabeled.map((source) => loadUnlabeled(source, config.task, { data: config.data, options: config.dataOptions, loaded: data }));
  if (data.task === 'lm') return data;
  for (const set of sets) {
    log(`--unlabeled ${set.name}: ${set.texts.length + set.images.length} examples${set.labelsIgnored ? ' (the labels it carries are ignored)' : ''}`);
  }
  if (data.task === 'image') {
    const wrong = sets.find((s) => s.shape && s.shape.join('x') !== data.shape.join('x'));
    if (wrong) throw new DataError(`--unlabeled ${wrong.name} holds ${wrong.shape!.join('x')} images; the data's are ${data.shape.join('x')}`);
    const extra = sets.flatMap((s) => s.images.map((pixels) => ({ pixels, label: NO_LABEL })));
    return { ...data, splits: { ...data.splits, train: [...data.splits.train, ...extra] } };
  }
  const extra = sets.flatMap((s) => s.texts.map((text) => ({ text, label: NO_LABEL })));
  return { ...data, splits: { ...data.splits, train: [...data.splits.train, ...extra] } };
}

function imageData(data: Extract<Dataset, { task: 'image' }>): Omit<PreparedData, 'counts'> {
  const reader = { ctx: 0, normalize: data.normalize };
  return {
    data, labels: data.labels,
    splits: { train: splitSource(data, 'train', reader), validation: splitSource(data, 'validation', reader), test: splitSource(data, 'test', reader) },
    shape: { task: 'image', numClasses: data.labels.length, imageShape: data.shape },
    preprocessing: { kind: 'image', shape: data.shape, scale: 1 / 255, mean: data.normalize.mean, std: data.normalize.std },
  };
}

function textData(data: Exclude<Dataset, { task: 'image' }>, run: ResolvedRun, log: (m: string) => void): Omit<PreparedData, 'counts'> {
  // checkArchForTask let only kinds that read text this far.
  const ctx = textContext(run.arch)!;
  const augment = Boolean(run.config.augment);
  let tokenizer = run.tokenizerJson ? tokenizerFromJSON(run.tokenizerJson) : trainTokenizer(data, run.config, log);
  let vocabPrune: VocabPrune | undefined;
  if (run.config.vocabPrune) {
    ({ tokenizer, prune: vocabPrune } = pruneToTrainingSplit(data, tokenizer, augment ? 4 * ctx : ctx));
    const saved = run.resumed?.config.tokenizer as string | undefined;
    if (saved && !sameJson(saved, tokenizer.toJSON())) {
      throw new DataError('the training split no longer reads to the tokens this run\'s vocabulary was cut to (its data or the teacher\'s tokenizer changed); start a new run');
    }
    log(`--vocab-prune: ${vocabPrune.occurring} of the teacher's ${vocabPrune.teacher_vocab} tokens occur in the training split; the student's vocabulary keeps ${vocabPrune.student_vocab} (with specials, bytes and the tokens merges build them from)`);
  }
  const reader = { tokenizer, ctx };
  return {
    data, tokenizer, vocabPrune, labels: data.task === 'classify' ? data.labels : undefined,
    splits: { train: splitSource(data, 'train', reader, augment), validation: splitSource(data, 'validation', reader), test: splitSource(data, 'test', reader) },
    shape: data.task === 'lm' ? { task: 'lm', vocabSize: tokenizer.vocabSize } : { task: 'classify', vocabSize: tokenizer.vocabSize, numClasses: data.labels.length },
    preprocessing: { kind: 'text', max_length: ctx, pad_id: tokenizer.padId, truncation: 'right' },
  };
}

/** A tokenizer fitted to the training split: characters for language models, byte-level BPE otherwise. */
function trainTokenizer(data: Exclude<Dataset, { task: 'image' }>, config: RunConfig, log: (m: string) => void): Tokenizer {
  const text = data.task === 'lm' ? data.splits.train : data.splits.train.map((e) => e.text).join('\n');
  if ((config.tokenizer ?? (data.task === 'lm' ? 'char' : 'bpe')) === 'char') return tokenizerFromJSON(trainChars(text));
  log(`training a byte-level BPE tokenizer (${config.vocabSize ?? 4000} tokens) on ${text.length} characters`);
  return tokenizerFromJSON(trainBpe(text, { vocabSize: config.vocabSize ?? 4000, minFrequency: 2 }));
}
