// Stage 4: the student made small. int8 and int4 of the distilled student; a structured-pruned
// student recovered by distillation, kept where it pays (at least a quarter of the parameters gone,
// within the compression targets); quantization-aware int4 where post-training int4 loses more than
// the target. Every candidate is measured on the validation split, and the smallest one within the
// targets is the one to ship.
import { readFileSync, statSync } from 'node:fs';
import { compressModel, type CompressOptions } from '../../src/compress/compress.js';
import { parseModelSpec } from '../../src/nn/spec.js';
import { evaluateModelFile } from '../../src/train/evaluate.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import type { Context } from '../context.js';
import type { TeacherService } from '../serve.js';
import { structuredTargets, TOLERANCE, withinTolerance } from '../recipes.js';
import { digestOf, fileDigest, step, type StepRun } from '../steps.js';
import { distillRun, type DistillResult } from './distill.js';

export interface Candidate {
  name: string;
  file: string;
  params: number;
  bytes: number;
  /** Validation accuracy, or validation loss (nats per token) for language models. */
  validation: number;
  /** What it is: fp32, int8, int4, and whether it was structured-pruned or trained with QAT. */
  recipe: { quantize?: 'int8' | 'int4'; structured?: boolean; qat?: boolean };
  within: boolean;
}

export interface CompressResult {
  candidates: Candidate[];
  shipped: string;
  structured: { kept: boolean; targets: string; paramsRemoved: number; validation: number };
  qat: { ran: boolean; why: string };
}

async function validationOf(ctx: Context, file: string): Promise<number> {
  const m = await evaluateModelFile(file, { data: ctx.options.data, split: 'validation', dataOptions: ctx.dataOptions, device: ctx.options.device });
  return ctx.task === 'lm' ? m.loss! : m.accuracy!;
}

async function quantized(ctx: Context, source: string, out: string, options: CompressOptions): Promise<string> {
  const file = ctx.dir('compress', out);
  await writeFileAtomic(file, compressModel(readFileSync(source), options).bytes);
  return file;
}

/** A candidate measured against the fp32 student's validation figure. */
async function candidate(ctx: Context, name: string, file: string, params: number, recipe: Candidate['recipe'], reference: number): Promise<Candidate> {
  const validation = await validationOf(ctx, file);
  const tolerance = recipe.quantize ? TOLERANCE[recipe.quantize] : recipe.structured ? TOLERANCE.structured : { points: 0, lossShare: 0 };
  return { name, file, params, bytes: statSync(file).size, validation, recipe, within: withinTolerance(ctx.task, validation, reference, tolerance) };
}

/** The student pruned to about half its heads, FFN neurons and channels, then recovered by distillation. */
async function structured(ctx: Context, distilled: DistillResult, url: string, reference: number): Promise<{ fp32: Candidate; removed: number; targets: string }> {
  const targets = structuredTargets(parseModelSpec(distilled.spec));
  const pruned = compressModel(readFileSync(distilled.student.model), { structured: targets });
  const prunedFile = ctx.dir('compress', 'structured-pruned.onnx');
  await writeFileAtomic(prunedFile, pruned.bytes);
  const r = ctx.recipe.student;
  const run = ctx.dir('compress', 'structured');
  const recovered = await step(run, { pruned: digestOf(pruned.report), from: fileDigest(distilled.student.model) }, (resume) =>
    distillRun(ctx, 'structured-pruned student', run, resume, { teachers: [url], initFrom: prunedFile, epochs: ctx.recipe.recoveryEpochs, lr: r.lr, batch: r.batch }), (s) => [s.model]);
  const fp32 = await candidate(ctx, 'structured', recovered.result.model, recovered.result.params, { structured: true }, reference);
  return { fp32, removed: 1 - recovered.result.params / distilled.student.params, targets: JSON.stringify(targets) };
}

/** int4 trained against its own quantized weights, from the fp32 student. */
async function qatInt4(ctx: Context, distilled: DistillResult, url: string, reference: number): Promise<Candidate> {
  const r = ctx.recipe.student;
  const run = ctx.dir('compress', 'qat');
  const trained = await step(run, { from: fileDigest(distilled.student.model), qat: 'int4' }, (resume) =>
    distillRun(ctx, 'QAT student', run, resume, { teachers: [url], initFrom: distilled.student.model, qat: { quantize: 'int4', blockSize: 32 }, epochs: ctx.recipe.recoveryEpochs, lr: r.lr, batch: r.batch }), (s) => [s.model]);
  const file = await quantized(ctx, trained.result.model, 'qat-int4.onnx', { quantize: 'int4' });
  return candidate(ctx, 'qat-int4', file, trained.result.params, { quantize: 'int4', qat: true }, reference);
}

async function compressAll(ctx: Context, distilled: DistillResult, service: TeacherService): Promise<CompressResult> {
  const progress = (done: number, what: string) => ctx.emit({ type: 'progress', stage: 'compress', done, total: 5, what });
  const { student } = distilled;
  progress(0, 'measuring the fp32 student');
  const reference = await validationOf(ctx, student.model);
  const fp32: Candidate = { name: 'fp32', file: student.model, params: student.params, bytes: statSync(student.model).size, validation: reference, recipe: {}, within: true };
  progress(1, 'int8, int4');
  const int8 = await candidate(ctx, 'int8', await quantized(ctx, student.model, 'int8.onnx', { quantize: 'int8' }), student.params, { quantize: 'int8' }, reference);
  const int4 = await candidate(ctx, 'int4', await quantized(ctx, student.model, 'int4.onnx', { quantize: 'int4' }), student.params, { quantize: 'int4' }, reference);
  ctx.checkStop();
  progress(2, 'structured pruning and recovery');
  const url = await service.url();
  const pruned = await structured(ctx, distilled, url, reference);
  const kept = pruned.fp32.within && pruned.removed >= 0.25;
  const candidates = [fp32, int8, int4, pruned.fp32];
  if (kept) {
    const file = await quantized(ctx, pruned.fp32.file, 'structured-int4.onnx', { quantize: 'int4' });
    candidates.push(await candidate(ctx, 'structured-int4', file, pruned.fp32.params, { quantize: 'int4', structured: true }, reference));
  }
  ctx.checkStop();
  progress(3, 'quantization-aware int4');
  const qat = { ran: !int4.within, why: int4.within ? 'post-training int4 is within the target' : 'post-training int4 lost more than the target' };
  if (qat.ran) candidates.push(await qatInt4(ctx, distilled, url, reference));
  progress(5, 'done');
  const shippable = candidates.filter((c) => c.within && (!c.recipe.structured || kept));
  const shipped = shippable.reduce((best, c) => (c.bytes < best.bytes ? c : best), fp32);
  return { candidates, shipped: shipped.name, structured: { kept, targets: pruned.targets, paramsRemoved: pruned.removed, validation: pruned.fp32.validation }, qat };
}

export async function compressStage(ctx: Context, distilled: DistillResult, service: TeacherService): Promise<StepRun<CompressResult>> {
  const inputs = { stage: 'compress', where: ctx.where, student: fileDigest(distilled.student.model), recovery: ctx.recipe.recoveryEpochs, data: ctx.dataDigest, dataOptions: ctx.dataOptions };
  return step(ctx.dir('compress'), inputs, () => compressAll(ctx, distilled, service), (r) => r.candidates.map((c) => c.file));
}
