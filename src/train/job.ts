// `minnow train` as a library call: load data, fit a tokenizer, build the model, train with
// checkpoints and progress events, evaluate, and write model.onnx, metrics.jsonl and report.json.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildModel, type ArchConfig, type ModelShape, type Task } from '../nn/models.js';
import { DEFAULT_MODEL, checkArchForTask, parseModelSpec } from '../nn/spec.js';
import { DataError, loadDataset, type Dataset, type LoadOptions } from '../data/datasets.js';
import { SpecError } from '../nn/spec.js';
import type { Graph } from '../onnx/graph.js';
import type { Tensor } from '../onnx/tensor.js';
import type { Batch } from '../data/batching.js';
import { BpeTokenizer, CharTokenizer, tokenizerFromJSON, type Tokenizer } from '../data/tokenizers/index.js';
import { ImageSource, LanguageModelSource, TextClassificationSource, batchCount, iterateBatches, type BatchSource } from '../data/batching.js';
import type { Split } from '../data/split.js';
import { encodeModel } from '../onnx/codec.js';
import { decoderFromTrained } from '../nn/decoder.js';
import type { Device } from '../onnx/runtime.js';
import { Trainer, type EvalResult } from './trainer.js';
import { loadCheckpoint, saveCheckpoint, type DataCursor } from './checkpoint.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { META, FORMAT_VERSION, type Preprocessing } from '../format/metadata.js';
import { stampWeightsDigest } from '../onnx/digest.js';
import type { OptimizerConfig } from './optimizers.js';
import { prunableWeights } from '../compress/prune/magnitude.js';
import { initialParams, readInitModel } from './init-from.js';
import { fakeQuantPlan, type FakeQuantOptions } from '../compress/quantize/schemes.js';

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
  dataOptions?: LoadOptions;
  onEvent?: (event: TrainEvent) => void;
  /** Aborting writes a checkpoint and returns with `interrupted: true`. */
  signal?: AbortSignal;
  /** Distillation's hooks into the loop (student/distill.ts). */
  teacher?: TeacherHooks;
  /** Magnitude pruning during training: target sparsity, ramped between two fractions of the run. */
  prune?: PruneSchedule;
  /** Start from this model file's weights (and its architecture, tokenizer and labels). */
  initFrom?: string;
  /** Augment training batches: images shifted up to 2 px and flipped; texts longer than ctx cut at a random window. */
  augment?: boolean;
  /** Quantization-aware training: the forward pass sees the weights as `minnow compress` will store them. */
  qat?: FakeQuantOptions;
}

export interface PruneSchedule {
  sparsity: number;
  /** Fractions of the run where pruning starts and reaches the target (default 0.1 and 0.7). */
  start?: number;
  end?: number;
}

/** Cubic ramp (Zhu & Gupta 2017): fast at first, gentle near the target. */
export function sparsityAt(step: number, totalSteps: number, schedule: PruneSchedule): number {
  const t0 = Math.floor((schedule.start ?? 0.1) * totalSteps), t1 = Math.max(t0 + 1, Math.floor((schedule.end ?? 0.7) * totalSteps));
  if (step < t0) return 0;
  const progress = Math.min(1, (step - t0) / (t1 - t0));
  return schedule.sparsity * (1 - (1 - progress) ** 3);
}

/** What distillation adds to a training run. */
export interface TeacherHooks {
  /** The teacher's tokenizer.json: the student must read text the same way. */
  tokenizerJson?: string;
  labels?: string[];
  /** Longest sequence the teacher accepts. */
  maxSeq?: number;
  buildLoss?: (g: Graph, logits: string, labels: string) => string;
  /** Graph feeds with the teacher's soft labels for a batch; called ahead of use for pipelining. */
  softLabels?: (batch: Batch) => Promise<Record<string, Tensor>>;
  /** Argmax of the teacher for each target of a batch (agreement on validation). */
  teacherPredictions?: (batch: Batch) => Promise<Int32Array>;
  /** How many batches to request ahead of the one training. */
  prefetch?: number;
  /** Kept in the checkpoint and checked on resume. */
  checkpointConfig?: Record<string, unknown>;
  reportExtra?: (report: TrainReport) => Record<string, unknown>;
}

export type TrainEvent =
  | { type: 'start'; totalSteps: number; step: number; params: number; trainExamples: number }
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
  [extra: string]: unknown;
}

interface RunConfig {
  task: Task; data: string; model: string; epochs: number; batch: number; lr: number; seed: number;
  tokenizer?: string; vocabSize?: number; optimizer: 'adamw' | 'sgd'; weightDecay: number; warmup: number;
  labelSmoothing: number; maxGradNorm: number; dataOptions: LoadOptions; prune?: PruneSchedule; initFrom?: string; augment?: boolean; qat?: FakeQuantOptions;
}

const LN2 = Math.log(2);

interface Prepared {
  data: Dataset;
  tokenizer?: Tokenizer;
  sources: Record<Split, BatchSource>;
  shape: ModelShape;
  preprocessing: Preprocessing;
  labels?: string[];
  /** Characters per token of each split (LM bits-per-char). */
  charsPerToken?: Record<Split, number>;
}

function prepare(config: RunConfig, arch: ArchConfig, tokenizerJson: string | undefined, log: (m: string) => void): Prepared {
  const data = loadDataset(config.data, config.task, config.dataOptions);
  if (data.task === 'image') {
    const sources = {
      train: new ImageSource(data.splits.train, data.shape, data.normalize),
      validation: new ImageSource(data.splits.validation, data.shape, data.normalize),
      test: new ImageSource(data.splits.test, data.shape, data.normalize),
    };
    return {
      data, sources, labels: data.labels,
      shape: { task: 'image', numClasses: data.labels.length, imageShape: data.shape },
      preprocessing: { kind: 'image', shape: data.shape, scale: 1 / 255, mean: data.normalize.mean, std: data.normalize.std },
    };
  }
  if (arch.kind !== 'transformer') throw new Error('text tasks need a transformer');
  const ctx = arch.ctx;
  const trainText = data.task === 'lm' ? data.splits.train : data.splits.train.map((e) => e.text).join('\n');
  let tokenizer: Tokenizer;
  if (tokenizerJson) tokenizer = tokenizerFromJSON(tokenizerJson);
  else if ((config.tokenizer ?? (data.task === 'lm' ? 'char' : 'bpe')) === 'char') tokenizer = CharTokenizer.train(trainText);
  else {
    log(`training a byte-level BPE tokenizer (${config.vocabSize ?? 4000} tokens) on ${trainText.length} characters`);
    tokenizer = BpeTokenizer.train(trainText, { vocabSize: config.vocabSize ?? 4000, minFrequency: 2 });
  }
  const preprocessing: Preprocessing = { kind: 'text', max_length: ctx, pad_id: tokenizer.padId, truncation: 'right' };
  if (data.task === 'lm') {
    const encode = (s: string) => Int32Array.from(tokenizer.encode(s));
    const tokens = { train: encode(data.splits.train), validation: encode(data.splits.validation), test: encode(data.splits.test) };
    const cpt = (s: Split) => data.splits[s].length / Math.max(1, tokens[s].length);
    return {
      data, tokenizer, preprocessing,
      sources: { train: new LanguageModelSource(tokens.train, ctx), validation: new LanguageModelSource(tokens.validation, ctx), test: new LanguageModelSource(tokens.test, ctx) },
      shape: { task: 'lm', vocabSize: tokenizer.vocabSize },
      charsPerToken: { train: cpt('train'), validation: cpt('validation'), test: cpt('test') },
    };
  }
  const source = (split: Split) => {
    const ex = data.splits[split];
    // Augmented runs draw windows from up to 4 contexts' worth of each text.
    return new TextClassificationSource(ex.map((e) => tokenizer.encode(e.text, split === 'train' && config.augment ? 4 * ctx : ctx)), ex.map((e) => e.label), tokenizer.padId, ctx);
  };
  return {
    data, tokenizer, preprocessing, labels: data.labels,
    sources: { train: source('train'), validation: source('validation'), test: source('test') },
    shape: { task: 'classify', vocabSize: tokenizer.vocabSize, numClasses: data.labels.length },
  };
}

function metricsOf(result: EvalResult, task: Task, charsPerToken?: number): Metrics {
  if (task !== 'lm') return { accuracy: result.accuracy!, loss: result.loss };
  return { loss: result.loss, val_loss: result.loss, bits_per_char: result.loss / LN2 / (charsPerToken ?? 1) };
}

export async function train(options: TrainJobOptions): Promise<TrainReport> {
  const emit = options.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: 'log', message });
  const resumed = options.resume ? await loadCheckpoint(path.join(options.resume, 'checkpoint')) : undefined;
  const init = !resumed && options.initFrom ? readInitModel(options.initFrom, options.task, options.model) : undefined;
  const config: RunConfig = resumed ? (resumed.config.run as RunConfig) : {
    task: options.task, data: options.data, model: init?.spec ?? options.model ?? DEFAULT_MODEL[options.task], initFrom: init?.file,
    epochs: options.epochs ?? 1, batch: options.batch ?? 32, lr: options.lr ?? 1e-3, seed: options.seed ?? 0,
    tokenizer: options.tokenizer, vocabSize: options.vocabSize, optimizer: options.optimizer ?? 'adamw',
    weightDecay: options.weightDecay ?? 0.01, warmup: options.warmup ?? 100, labelSmoothing: options.labelSmoothing ?? 0,
    maxGradNorm: options.maxGradNorm ?? 1, dataOptions: options.dataOptions ?? {}, prune: options.prune, augment: options.augment, qat: options.qat,
  };
  if (resumed && options.epochs) config.epochs = options.epochs;
  const arch = parseModelSpec(config.model);
  checkArchForTask(arch, config.task, config.model);
  const hooks = options.teacher;
  if (init?.tokenizerJson && hooks?.tokenizerJson && !sameJson(init.tokenizerJson, hooks.tokenizerJson)) {
    throw new DataError(`--init-from ${init.file} reads text with a different tokenizer than the teacher's; start from a model distilled from this teacher`);
  }
  const prepared = prepare(config, arch, (resumed?.config.tokenizer as string | undefined) ?? hooks?.tokenizerJson ?? init?.tokenizerJson, log);
  if (init?.labels && prepared.labels && !sameJson(init.labels, prepared.labels)) {
    throw new DataError(`--init-from ${init.file} has labels ${JSON.stringify(init.labels)}, the data ${JSON.stringify(prepared.labels)}`);
  }
  if (hooks?.labels && prepared.labels && JSON.stringify(hooks.labels) !== JSON.stringify(prepared.labels)) {
    throw new DataError(`the teacher's labels ${JSON.stringify(hooks.labels)} differ from the data's ${JSON.stringify(prepared.labels)}`);
  }
  if (hooks?.maxSeq && arch.kind === 'transformer' && arch.ctx > hooks.maxSeq) {
    throw new SpecError(`the student's ctx ${arch.ctx} exceeds the teacher's max sequence ${hooks.maxSeq}; use ctx=${hooks.maxSeq} or less`);
  }
  const { sources } = prepared;
  if (sources.train.size === 0) throw new Error(`data '${config.data}' has no training examples`);

  const stepsPerEpoch = batchCount(sources.train, config.batch);
  const totalSteps = stepsPerEpoch * config.epochs;
  const optimizer: OptimizerConfig = config.optimizer === 'sgd'
    ? { kind: 'sgd', momentum: 0.9, weightDecay: config.weightDecay }
    : { kind: 'adamw', weightDecay: config.weightDecay };
  const trainer = await Trainer.create((training) => buildModel(arch, prepared.shape, { seed: config.seed, training }), {
    task: config.task, optimizer, lr: config.lr, warmupSteps: Math.min(config.warmup, Math.floor(totalSteps / 10)), totalSteps,
    maxGradNorm: config.maxGradNorm, labelSmoothing: config.labelSmoothing, device: options.device, threads: options.threads,
    buildLoss: hooks?.buildLoss,
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

  await fs.mkdir(options.out, { recursive: true });
  const metricsFile = path.join(options.out, 'metrics.jsonl');
  const appendMetrics = (row: Record<string, unknown>) => fs.appendFile(metricsFile, JSON.stringify({ time: new Date().toISOString(), ...row }) + '\n');
  const checkpointDir = path.join(options.out, 'checkpoint');
  const checkpoint = async () => {
    const file = await saveCheckpoint(checkpointDir, {
      step: trainer.step, cursor, rngState: config.seed, params: trainer.params, optimizerState: trainer.state,
      config: { run: config, tokenizer: prepared.tokenizer ? JSON.stringify(prepared.tokenizer.toJSON()) : undefined, teacher: hooks?.checkpointConfig },
    });
    emit({ type: 'checkpoint', step: trainer.step, file });
  };
  const evalBatches = (split: Split) => iterateBatches(sources[split], { batchSize: Math.max(config.batch, 64), seed: 0, epoch: 0, shuffle: false });
  const evaluate = async (split: Split) => {
    const agreement = split === 'validation' && hooks?.teacherPredictions;
    const result = await trainer.evaluate(evalBatches(split), { predictions: Boolean(agreement) });
    const metrics = metricsOf(result, config.task, prepared.charsPerToken?.[split]);
    if (agreement && result.predictions) {
      let same = 0, i = 0;
      for (const batch of evalBatches(split)) for (const t of await hooks.teacherPredictions!(batch)) same += Number(t === result.predictions[i++]);
      metrics.teacher_agreement = same / Math.max(1, i);
    }
    return metrics;
  };

  emit({ type: 'start', totalSteps, step: trainer.step, params: trainer.paramCount(), trainExamples: sources.train.size });
  const started = Date.now();
  const stopAt = options.maxSteps ?? Infinity;
  let interrupted = false;
  let windowStart = Date.now(), windowSamples = 0;
  let waitSeconds = 0, stepSeconds = 0, windowWait = 0, windowStep = 0;
  /** The latest validation pass, so that the final report does not run it again at the same step. */
  let lastValidation: { step: number; metrics: Metrics } | undefined;
  const validate = async (epoch: number) => {
    const metrics = await evaluate('validation');
    lastValidation = { step: trainer.step, metrics };
    emit({ type: 'eval', step: trainer.step, epoch, split: 'validation', metrics });
    await appendMetrics({ step: trainer.step, epoch, split: 'validation', ...metrics });
  };
  const checkpointEvery = options.checkpointEvery ?? 500;

  outer: for (let epoch = cursor.epoch; epoch < config.epochs; epoch++) {
    const start = epoch === cursor.epoch ? cursor.index : 0;
    let index = start;
    const batches = lookahead(iterateBatches(sources.train, { batchSize: config.batch, seed: config.seed, epoch, startBatch: start, augment: config.augment }), hooks?.softLabels, hooks?.prefetch ?? 8);
    for (const { batch, soft } of batches) {
      if (options.signal?.aborted || trainer.step >= stopAt) { interrupted = options.signal?.aborted ?? false; break outer; }
      if (config.prune && (trainer.step % 10 === 0 || trainer.step === totalSteps - 1)) {
        const target = sparsityAt(trainer.step, totalSteps, config.prune);
        if (target > 0) trainer.setSparsity(target);
      }
      const t0 = performance.now();
      const feeds = soft ? { ...batch, ...(await soft) } : batch;
      const t1 = performance.now();
      const result = await trainer.trainStep(feeds);
      const t2 = performance.now();
      waitSeconds += (t1 - t0) / 1000; stepSeconds += (t2 - t0) / 1000;
      windowWait += t1 - t0; windowStep += t2 - t0;
      index++;
      cursor = index >= stepsPerEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index };
      if (!Number.isFinite(result.loss)) throw new Error(`training diverged at step ${trainer.step}: loss is ${result.loss}; lower --lr`);
      windowSamples += batch.labels!.dims[0]!;
      const now = Date.now();
      const samplesPerSec = windowSamples / Math.max(1e-3, (now - windowStart) / 1000);
      const teacherWaitShare = hooks?.softLabels ? windowWait / Math.max(1e-9, windowStep) : undefined;
      if (now - windowStart > 2000) { windowStart = now; windowSamples = 0; windowWait = 0; windowStep = 0; }
      emit({ type: 'step', step: trainer.step, totalSteps, epoch, loss: result.loss, lr: result.lr, gradNorm: result.gradNorm, samplesPerSec, teacherWaitShare });
      if (trainer.step % 10 === 0) await appendMetrics({ step: trainer.step, epoch, loss: result.loss, lr: result.lr, grad_norm: result.gradNorm });
      if (options.evalEvery && trainer.step % options.evalEvery === 0) await validate(epoch);
      if (trainer.step % checkpointEvery === 0) await checkpoint();
    }
    if (!options.evalEvery && cursor.epoch === epoch + 1) await validate(epoch);
  }
  await checkpoint();
  const trainSeconds = (Date.now() - started) / 1000;

  const validation = lastValidation?.step === trainer.step ? lastValidation.metrics : await evaluate('validation');
  const test = await evaluate('test');
  const metrics: TrainReport['metrics'] = config.task === 'lm'
    ? { val_loss: validation.val_loss!, bits_per_char: validation.bits_per_char!, test_loss: test.loss }
    : { accuracy: test.accuracy! };
  emit({ type: 'eval', step: trainer.step, epoch: cursor.epoch, split: 'test', metrics: test });

  const metadata: Record<string, string> = {
    [META.version]: FORMAT_VERSION,
    [META.task]: config.task,
    [META.model]: config.model,
    [META.preprocessing]: JSON.stringify(prepared.preprocessing),
    [META.metrics]: JSON.stringify(metrics),
    [META.provenance]: JSON.stringify({ producer: 'minnow', data: config.data, steps: trainer.step, seed: config.seed, created: new Date().toISOString() }),
  };
  if (prepared.labels) metadata[META.labels] = JSON.stringify(prepared.labels);
  if (prepared.tokenizer) metadata[META.tokenizer] = JSON.stringify(prepared.tokenizer.toJSON());
  const bytes = trainer.exportModel(metadata);
  const modelFile = path.join(options.out, 'model.onnx');
  await writeFileAtomic(modelFile, bytes);
  if (prepared.tokenizer) await writeFileAtomic(path.join(options.out, 'tokenizer.json'), JSON.stringify(prepared.tokenizer.toJSON()));
  if (config.task === 'lm' && arch.kind === 'transformer') {
    // The same weights as a decoder with past keys/values, for generation with a KV cache.
    const decoder = decoderFromTrained(trainer.exportGraph.graph, arch, prepared.shape.vocabSize!);
    stampWeightsDigest(decoder);
    await writeFileAtomic(path.join(options.out, 'decoder.onnx'), encodeModel(decoder));
  }

  const report: TrainReport = {
    task: config.task, model: config.model, params: trainer.paramCount(), size_bytes: bytes.length, metrics, validation,
    data: config.data, steps: trainer.step, epochs: config.epochs, train_seconds: trainSeconds, interrupted,
  };
  if (config.prune) report.sparsity = trainer.sparsity();
  if (config.initFrom) report.init_from = config.initFrom;
  // The weights in model.onnx (and the metrics) are the fake-quantized ones.
  if (config.qat) report.qat = config.qat;
  if (hooks?.softLabels) report.teacher_wait_share = waitSeconds / Math.max(1e-9, stepSeconds);
  if (hooks?.reportExtra) Object.assign(report, hooks.reportExtra(report));
  await writeFileAtomic(path.join(options.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  await trainer.release();
  return report;
}

function sameJson(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => JSON.stringify(typeof v === 'string' ? JSON.parse(v) : v);
  return norm(a) === norm(b);
}

/**
 * Batches paired with their soft labels, requested `depth` batches ahead so that the teacher works
 * on the next batches while the current one trains.
 */
function* lookahead(batches: Generator<Batch>, softLabels: TeacherHooks['softLabels'], depth: number): Generator<{ batch: Batch; soft?: Promise<Record<string, Tensor>> }> {
  const queue: { batch: Batch; soft?: Promise<Record<string, Tensor>> }[] = [];
  const fill = () => {
    while (queue.length < (softLabels ? depth : 1)) {
      const next = batches.next();
      if (next.done) return;
      const soft = softLabels?.(next.value);
      soft?.catch(() => { /* surfaced when awaited */ });
      queue.push({ batch: next.value, soft });
    }
  };
  for (fill(); queue.length; fill()) yield queue.shift()!;
}

