// `minnow train` as a library call, in four steps: settle the run (run.ts), read its data the way
// the model will (run.ts, sources.ts), train (loop.ts), write model.onnx, decoder.onnx,
// tokenizer.json, metrics.jsonl and report.json (artefacts.ts).
import { promises as fs } from 'node:fs';
import type { Task } from '../format/metadata.js';
import { DataError, type LoadOptions } from '../data/datasets.js';
import type { Split } from '../data/split.js';
import type { Batch } from '../data/batching.js';
import type { Graph } from '../onnx/graph.js';
import type { Device, Feeds } from '../onnx/runtime.js';
import { buildModel } from '../nn/models.js';
import { prunableWeights } from '../compress/prune/magnitude.js';
import { fakeQuantPlan, type FakeQuantOptions } from '../compress/quantize/schemes.js';
import { Trainer } from './trainer.js';
import type { OptimizerConfig } from './optimizers.js';
import { batchCount } from '../data/batching.js';
import { initialParams } from './init-from.js';
import type { PruneSchedule } from './schedule.js';
import { prepareData, resolveRun, type PreparedData, type ResolvedRun } from './run.js';
import { TrainLoop } from './loop.js';
import { writeArtefacts } from './artefacts.js';
import type { DataCursor } from './checkpoint.js';
import type { TokenizerJson } from '../data/tokenizers/index.js';
import { FinetunableError, weightsOfPart, type FinetunePart } from '../compress/finetunable.js';

export { sparsityAt, type PruneSchedule } from './schedule.js';

export interface TrainJobOptions {
  task: Task;
  data: string;
  model?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  seed?: number;
  device?: Device;
  out: string;
  resume?: string;
  /** Stop after this many steps in total (the schedule still spans all epochs). */
  maxSteps?: number;
  tokenizer?: 'char' | 'bpe';
  vocabSize?: number;
  optimizer?: 'adamw' | 'sgd';
  weightDecay?: number;
  warmup?: number;
  labelSmoothing?: number;
  maxGradNorm?: number;
  checkpointEvery?: number;
  /** Evaluate on the validation split every N steps (default: at each epoch end). */
  evalEvery?: number;
  threads?: number;
  /** Recompute each Transformer block in the backward pass instead of keeping its activations (less memory, slower steps). */
  recompute?: boolean;
  /** model.onnx carries the training step of this part, for model.finetune() on the device (src/train/finetune-step.ts). */
  finetunable?: FinetunePart;
  dataOptions?: LoadOptions;
  /** Data sets of examples without labels (names or paths): they train on the teacher's soft labels alone. */
  unlabeled?: string[];
  onEvent?: (event: TrainEvent) => void;
  /** Aborting writes a checkpoint and returns with `interrupted: true`. */
  signal?: AbortSignal;
  /** Distillation's hooks into the loop (student/distill.ts). */
  teacher?: TeacherHooks;
  /** Magnitude pruning during training: target sparsity, ramped between two fractions of the run. */
  prune?: PruneSchedule;
  /** Start from this model file's weights (and its architecture, tokenizer and labels). */
  initFrom?: string;
  /** Check --init-from's weights against minnow.weights_sha256 (default true). */
  verify?: boolean;
  /** Augment training batches: images shifted up to 2 px and flipped; texts longer than ctx cut at a random window. */
  augment?: boolean;
  /** Quantization-aware training: the forward pass sees the weights as `minnow compress` will store them. */
  qat?: FakeQuantOptions;
  /** Distillation: read text with the teacher's tokenizer cut to the tokens of the training split. */
  vocabPrune?: boolean;
}

/** Where a distilling student's soft labels come from (student/soft-label-source.ts). */
export interface SoftLabelFeed {
  /** Each batch with its soft-label feeds, requested ahead so that the teacher works while the student trains. */
  attach(batches: Iterable<Batch>): Iterable<{ batch: Batch; soft: Promise<Feeds> }>;
}

/** What distillation adds to a training run. */
export interface TeacherHooks {
  /** The teacher's tokenizer.json: the student must read text the same way. */
  tokenizerJson?: string;
  labels?: string[];
  /** Longest sequence the teacher accepts. */
  maxSeq?: number;
  /** The loss from the student's logits, its labels and the soft labels the feed adds (absent: cross-entropy). */
  buildLoss?: (g: Graph, logits: string, labels: string) => string;
  /** Soft labels for the training batches (absent: the --no-teacher baseline). */
  softLabels?: SoftLabelFeed;
  /** Argmax of the teacher for each target of a batch (agreement on validation). */
  teacherPredictions?: (batch: Batch) => Promise<Int32Array>;
  /** Kept in the checkpoint: a resumed distillation takes its settings from there. */
  checkpointConfig?: Record<string, unknown>;
  reportExtra?: (report: TrainReport) => Record<string, unknown>;
  /** Told the tokenizer the student reads text with where it is a pruned copy of the teacher's (--vocab-prune). */
  studentTokenizer?: (json: TokenizerJson) => void;
}

export type TrainEvent =
  | { type: 'start'; totalSteps: number; step: number; params: number; trainExamples: number; unlabelledExamples: number }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm: number; samplesPerSec: number; teacherWaitShare?: number }
  | { type: 'eval'; step: number; epoch: number; split: Split; metrics: Metrics }
  | { type: 'checkpoint'; step: number; file: string }
  | { type: 'log'; message: string };

export interface Metrics { accuracy?: number; loss: number; val_loss?: number; bits_per_char?: number; teacher_agreement?: number }

export interface TrainReport {
  task: Task;
  model: string;
  params: number;
  size_bytes: number;
  metrics: { accuracy: number } | { val_loss: number; bits_per_char: number; test_loss: number };
  validation: Metrics;
  data: string;
  steps: number;
  epochs: number;
  train_seconds: number;
  interrupted: boolean;
  /** Share of step time spent waiting for the teacher (distillation). */
  teacher_wait_share?: number;
  /** Fraction of prunable weights that are zero (with --prune). */
  sparsity?: number;
  /** Training examples with and without labels (--labels-fraction, --unlabeled). */
  train_examples?: { labelled: number; unlabelled: number };
  [extra: string]: unknown;
}

async function startTrainer(run: ResolvedRun, data: PreparedData, options: TrainJobOptions, log: (m: string) => void): Promise<{ trainer: Trainer; cursor: DataCursor; totalSteps: number; stepsPerEpoch: number }> {
  const { config, arch, init, resumed } = run;
  const stepsPerEpoch = batchCount(data.splits.train.source, config.batch);
  const totalSteps = stepsPerEpoch * config.epochs;
  const optimizer: OptimizerConfig = config.optimizer === 'sgd'
    ? { kind: 'sgd', momentum: 0.9, weightDecay: config.weightDecay }
    : { kind: 'adamw', weightDecay: config.weightDecay };
  const trainer = await Trainer.create((training) => buildModel(arch, data.shape, { seed: config.seed, training }), {
    task: config.task, optimizer, lr: config.lr, warmupSteps: Math.min(config.warmup, Math.floor(totalSteps / 10)), totalSteps,
    maxGradNorm: config.maxGradNorm, labelSmoothing: config.labelSmoothing, device: options.device, threads: options.threads,
    recompute: options.recompute,
    buildLoss: options.teacher?.buildLoss,
    prunable: config.prune ? prunableWeights : undefined,
    fakeQuant: config.qat ? (g) => fakeQuantPlan(g, config.qat!) : undefined,
  });
  if (init) {
    const taken = initialParams(init, trainer.params);
    for (const [k, v] of taken) trainer.params.set(k, v);
    const fresh = [...trainer.params.keys()].filter((k) => !taken.has(k));
    log(`initialised ${config.model} from ${init.file}${fresh.length ? ` (the ${init.task} model's body; ${fresh.join(', ')} start fresh)` : ''}`);
  }
  let cursor: DataCursor = { epoch: 0, index: 0 };
  if (resumed) {
    for (const [k, v] of resumed.params) trainer.params.set(k, v);
    for (const [k, v] of resumed.optimizerState) trainer.state.set(k, v);
    trainer.step = resumed.step;
    trainer.restoreMasks();
    cursor = resumed.cursor;
    log(`resumed from step ${resumed.step} (epoch ${cursor.epoch + 1}, batch ${cursor.index})`);
  }
  return { trainer, cursor, totalSteps, stepsPerEpoch };
}

/** The output directory, made before any work so that a wrong --out costs nothing. */
async function makeOutDir(out: string): Promise<void> {
  try {
    await fs.mkdir(out, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new DataError(`--out ${out} is a file (or lies under one); give a directory`);
    if (code === 'EACCES') throw new DataError(`--out ${out}: no permission to create it`);
    throw err;
  }
}

export async function train(options: TrainJobOptions): Promise<TrainReport> {
  const emit = options.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: 'log', message });
  const run = await resolveRun(options);
  await makeOutDir(options.out);
  const data = prepareData(run, options.teacher, log);
  const { trainer, cursor, totalSteps, stepsPerEpoch } = await startTrainer(run, data, options, log);
  if (options.finetunable) {
    if (run.config.task === 'lm') throw new FinetunableError('--finetunable fine-tunes classifiers on the device; drop it for a language model');
    weightsOfPart(trainer.paramNames, options.finetunable);
  }
  const loop = new TrainLoop({ trainer, config: run.config, data, hooks: options.teacher, options, cursor, stepsPerEpoch, totalSteps });
  emit({ type: 'start', totalSteps, step: trainer.step, params: trainer.paramCount(), trainExamples: data.splits.train.source.size, unlabelledExamples: data.counts.unlabelled });
  const started = Date.now();
  await loop.run();
  const trainSeconds = (Date.now() - started) / 1000;
  const { validation, test } = await loop.finalMetrics();
  emit({ type: 'eval', step: trainer.step, epoch: loop.cursor.epoch, split: 'test', metrics: test });
  try {
    return await writeArtefacts({ run, data, trainer, options, validation, test, trainSeconds, interrupted: loop.interrupted, clock: loop.clock });
  } finally {
    await trainer.release();
  }
}
