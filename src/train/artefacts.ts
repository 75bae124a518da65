// The last step of a training run: model.onnx (with its metadata), tokenizer.json, decoder.onnx for
// language models, and report.json, each written atomically.
import path from 'node:path';
import { META, FORMAT_VERSION } from '../format/metadata.js';
import { encodeModel } from '../onnx/codec.js';
import { stampWeightsDigest } from '../onnx/digest.js';
import { decoderFromTrained } from '../nn/decoder.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { withFinetuneStep } from './finetune-step.js';
import type { Trainer } from './trainer.js';
import { paramsSaved } from './vocab-prune.js';
import type { PreparedData, ResolvedRun } from './run.js';
import type { Metrics, TrainJobOptions, TrainReport } from './job.js';

export interface Outcome {
  run: ResolvedRun;
  data: PreparedData;
  trainer: Trainer;
  options: TrainJobOptions;
  validation: Metrics;
  test: Metrics;
  trainSeconds: number;
  interrupted: boolean;
  clock: { waitSeconds: number; stepSeconds: number };
}

function testMetrics(o: Outcome): TrainReport['metrics'] {
  return o.run.config.task === 'lm'
    ? { val_loss: o.validation.val_loss!, bits_per_char: o.validation.bits_per_char!, test_loss: o.test.loss }
    : { accuracy: o.test.accuracy! };
}

function modelMetadata(o: Outcome, metrics: TrainReport['metrics']): Record<string, string> {
  const { config } = o.run;
  const metadata: Record<string, string> = {
    [META.version]: FORMAT_VERSION,
    [META.task]: config.task,
    [META.model]: config.model,
    [META.preprocessing]: JSON.stringify(o.data.preprocessing),
    [META.metrics]: JSON.stringify(metrics),
    [META.provenance]: JSON.stringify({ producer: 'minnow', data: config.data, steps: o.trainer.step, seed: config.seed, created: new Date().toISOString() }),
  };
  if (o.data.labels) metadata[META.labels] = JSON.stringify(o.data.labels);
  if (o.data.tokenizer) metadata[META.tokenizer] = JSON.stringify(o.data.tokenizer.toJSON());
  return metadata;
}

export async function writeArtefacts(o: Outcome): Promise<TrainReport> {
  const { config, arch } = o.run;
  const { trainer, options } = o;
  const metrics = testMetrics(o);
  const exported = trainer.exportModel(modelMetadata(o, metrics));
  const bytes = options.finetunable ? withFinetuneStep(exported, options.finetunable) : exported;
  await writeFileAtomic(path.join(options.out, 'model.onnx'), bytes);
  if (o.data.tokenizer) await writeFileAtomic(path.join(options.out, 'tokenizer.json'), JSON.stringify(o.data.tokenizer.toJSON()));
  if (config.task === 'lm') {
    // The same weights as a decoder with past keys/values, for generation with a KV cache.
    const decoder = decoderFromTrained(trainer.exportGraph.graph, arch, o.data.shape.vocabSize!);
    stampWeightsDigest(decoder);
    await writeFileAtomic(path.join(options.out, 'decoder.onnx'), encodeModel(decoder));
  }
  const report: TrainReport = {
    task: config.task, model: config.model, params: trainer.paramCount(), size_bytes: bytes.length, metrics, validation: o.validation,
    data: config.data, steps: trainer.step, epochs: config.epochs, train_seconds: o.trainSeconds, interrupted: o.interrupted,
  };
  if (o.data.counts.unlabelled > 0 || config.dataOptions.labelsFraction !== undefined) report.train_examples = o.data.counts;
  if (config.prune) report.sparsity = trainer.sparsity();
  if (config.initFrom) report.init_from = config.initFrom;
  if (o.data.vocabPrune) report.vocab_prune = { ...o.data.vocabPrune, params_saved: paramsSaved(arch, o.data.shape, o.data.vocabPrune, report.params) };
  // The weights in model.onnx (and the metrics) are the fake-quantized ones.
  if (config.qat) report.qat = config.qat;
  const hooks = options.teacher;
  if (hooks?.softLabels) report.teacher_wait_share = o.clock.waitSeconds / Math.max(1e-9, o.clock.stepSeconds);
  if (hooks?.reportExtra) Object.assign(report, hooks.reportExtra(report));
  await writeFileAtomic(path.join(options.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}
