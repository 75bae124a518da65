// The training loop of a run: epochs of steps from its data cursor, with pruning, validation,
// checkpoints, progress events and metrics.jsonl rows, until the end, --max-steps or an abort.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { iterateBatches, type Batch } from '../data/batching.js';
import type { Split } from '../data/split.js';
import type { Task } from '../format/metadata.js';
import type { Feeds } from '../onnx/runtime.js';
import type { Trainer, EvalResult } from './trainer.js';
import { saveCheckpoint, type DataCursor } from './checkpoint.js';
import { sparsityAt } from './schedule.js';
import type { PreparedData, RunConfig } from './run.js';
import type { Metrics, TeacherHooks, TrainEvent, TrainJobOptions } from './job.js';

const LN2 = Math.log(2);

function* withoutSoftLabels(batches: Iterable<Batch>): Generator<{ batch: Batch; soft?: Promise<Feeds> }> {
  for (const batch of batches) yield { batch };
}

function metricsOf(result: EvalResult, task: Task, charsPerToken?: number): Metrics {
  if (task !== 'lm') return { accuracy: result.accuracy!, loss: result.loss };
  return { loss: result.loss, val_loss: result.loss, bits_per_char: result.loss / LN2 / (charsPerToken ?? 1) };
}

/** Samples per second over a sliding window of about two seconds, and the share of it spent waiting for soft labels. */
class StepClock {
  waitSeconds = 0;
  stepSeconds = 0;
  private windowStart = Date.now();
  private samples = 0;
  private waitMs = 0;
  private stepMs = 0;

  record(waitMs: number, stepMs: number, samples: number): { samplesPerSec: number; waitShare: number } {
    this.waitSeconds += waitMs / 1000;
    this.stepSeconds += stepMs / 1000;
    this.waitMs += waitMs; this.stepMs += stepMs; this.samples += samples;
    const now = Date.now();
    const rate = { samplesPerSec: this.samples / Math.max(1e-3, (now - this.windowStart) / 1000), waitShare: this.waitMs / Math.max(1e-9, this.stepMs) };
    if (now - this.windowStart > 2000) { this.windowStart = now; this.samples = 0; this.waitMs = 0; this.stepMs = 0; }
    return rate;
  }
}

export interface LoopSetup {
  trainer: Trainer;
  config: RunConfig;
  data: PreparedData;
  hooks?: TeacherHooks;
  options: TrainJobOptions;
  cursor: DataCursor;
  stepsPerEpoch: number;
  totalSteps: number;
}

export class TrainLoop {
  cursor: DataCursor;
  interrupted = false;
  readonly clock = new StepClock();
  /** The latest validation pass, so that the final report does not run it again at the same step. */
  private lastValidation: { step: number; metrics: Metrics } | undefined;
  private readonly emit: (event: TrainEvent) => void;

  constructor(private readonly s: LoopSetup) {
    this.cursor = s.cursor;
    this.emit = s.options.onEvent ?? (() => {});
  }

  private get trainer(): Trainer { return this.s.trainer; }

  private appendMetrics(row: Record<string, unknown>): Promise<void> {
    return fs.appendFile(path.join(this.s.options.out, 'metrics.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...row }) + '\n');
  }

  async checkpoint(): Promise<void> {
    const { trainer, config, data, hooks } = this.s;
    const file = await saveCheckpoint(path.join(this.s.options.out, 'checkpoint'), {
      step: trainer.step, cursor: this.cursor, rngState: config.seed, params: trainer.params, optimizerState: trainer.state,
      config: { run: config, tokenizer: data.tokenizer ? JSON.stringify(data.tokenizer.toJSON()) : undefined, teacher: hooks?.checkpointConfig },
    });
    this.emit({ type: 'checkpoint', step: trainer.step, file });
  }

  /** Metrics on a split; on validation, with how often the student agrees with the teacher. */
  async evaluate(split: Split): Promise<Metrics> {
    const { config, data, hooks } = this.s;
    const batches = () => iterateBatches(data.splits[split].source, { batchSize: Math.max(config.batch, 64), seed: 0, epoch: 0, shuffle: false });
    const agreement = split === 'validation' ? hooks?.teacherPredictions : undefined;
    const result = await this.trainer.evaluate(batches(), { predictions: Boolean(agreement) });
    const metrics = metricsOf(result, config.task, data.splits[split].charsPerToken);
    if (agreement && result.predictions) {
      // A teacher with no answer at a position (-1: none of its top k is in a pruned vocabulary) is left out.
      let same = 0, i = 0, counted = 0;
      for (const batch of batches()) {
        for (const t of await agreement(batch)) {
          const mine = result.predictions[i++];
          if (t < 0) continue;
          same += Number(t === mine);
          counted++;
        }
      }
      metrics.teacher_agreement = same / Math.max(1, counted);
    }
    return metrics;
  }

  private async validate(epoch: number): Promise<void> {
    const metrics = await this.evaluate('validation');
    this.lastValidation = { step: this.trainer.step, metrics };
    this.emit({ type: 'eval', step: this.trainer.step, epoch, split: 'validation', metrics });
    await this.appendMetrics({ step: this.trainer.step, epoch, split: 'validation', ...metrics });
  }

  /** Validation at the final step (reusing the last pass when it ran there) and test. */
  async finalMetrics(): Promise<{ validation: Metrics; test: Metrics }> {
    const validation = this.lastValidation?.step === this.trainer.step ? this.lastValidation.metrics : await this.evaluate('validation');
    return { validation, test: await this.evaluate('test') };
  }

  /** Every remaining epoch, then a checkpoint. */
  async run(): Promise<void> {
    for (let epoch = this.cursor.epoch; epoch < this.s.config.epochs; epoch++) {
      if (!(await this.epoch(epoch))) break;
      if (!this.s.options.evalEvery && this.cursor.epoch === epoch + 1) await this.validate(epoch);
    }
    await this.checkpoint();
  }

  /** One epoch from the cursor; false when the run stops inside it (--max-steps or an abort). */
  private async epoch(epoch: number): Promise<boolean> {
    const { config, data, hooks, options } = this.s;
    const start = epoch === this.cursor.epoch ? this.cursor.index : 0;
    const batches = iterateBatches(data.splits.train.source, { batchSize: config.batch, seed: config.seed, epoch, startBatch: start, augment: config.augment });
    const paired = hooks?.softLabels ? hooks.softLabels.attach(batches) : withoutSoftLabels(batches);
    let index = start;
    for (const { batch, soft } of paired) {
      if (options.signal?.aborted || this.trainer.step >= (options.maxSteps ?? Infinity)) {
        this.interrupted = options.signal?.aborted ?? false;
        return false;
      }
      await this.step(epoch, batch, soft);
      index++;
      this.cursor = index >= this.s.stepsPerEpoch ? { epoch: epoch + 1, index: 0 } : { epoch, index };
      await this.afterStep(epoch);
    }
    return true;
  }

  private async step(epoch: number, batch: Batch, soft: Promise<Feeds> | undefined): Promise<void> {
    const { trainer } = this;
    const { config, totalSteps, hooks } = this.s;
    if (config.prune && (trainer.step % 10 === 0 || trainer.step === totalSteps - 1)) {
      const target = sparsityAt(trainer.step, totalSteps, config.prune);
      if (target > 0) trainer.setSparsity(target);
    }
    const t0 = performance.now();
    const feeds = soft ? { ...batch, ...(await soft) } : batch;
    const t1 = performance.now();
    const result = await trainer.trainStep(feeds);
    const t2 = performance.now();
    if (!Number.isFinite(result.loss)) throw new Error(`training diverged at step ${trainer.step}: loss is ${result.loss}; lower --lr`);
    const rate = this.clock.record(t1 - t0, t2 - t0, batch.labels!.dims[0]!);
    this.emit({
      type: 'step', step: trainer.step, totalSteps, epoch, loss: result.loss, lr: result.lr, gradNorm: result.gradNorm,
      samplesPerSec: rate.samplesPerSec, teacherWaitShare: hooks?.softLabels ? rate.waitShare : undefined,
    });
    if (trainer.step % 10 === 0) await this.appendMetrics({ step: trainer.step, epoch, loss: result.loss, lr: result.lr, grad_norm: result.gradNorm });
  }

  private async afterStep(epoch: number): Promise<void> {
    const { options } = this.s;
    if (options.evalEvery && this.trainer.step % options.evalEvery === 0) await this.validate(epoch);
    if (this.trainer.step % (options.checkpointEvery ?? 500) === 0) await this.checkpoint();
  }
}
