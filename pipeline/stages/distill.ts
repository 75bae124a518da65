// Stage 3: the student, distilled through the teacher server, and its --no-teacher twin: the same
// student, data, tokenizer and recipe on hard labels alone, the baseline KD is measured against.
import path from 'node:path';
import { distill, type DistillOptions, type DistillReport } from '../../student/distill.js';
import type { Metrics } from '../../src/train/job.js';
import type { Context } from '../context.js';
import type { TeacherService } from '../serve.js';
import type { TeacherResult } from './teacher.js';
import { Interrupted, resumable, step, type StepRun } from '../steps.js';

export interface StudentRun {
  /** The run directory: model.onnx, report.json, metrics.jsonl. */
  run: string;
  model: string;
  params: number;
  metrics: Record<string, number>;
  validation: Metrics;
}

export interface DistillResult { student: StudentRun; twin: StudentRun; spec: string }

/** The soft-label cache every distillation of the pipeline shares (entries are keyed by teacher). */
export const cacheDir = (ctx: Context) => path.join(ctx.out, 'cache');

/** One distillation run in `run`, resumed from its checkpoint after an interruption. */
export async function distillRun(ctx: Context, name: string, run: string, resume: boolean, options: Omit<DistillOptions, 'out' | 'data'>): Promise<StudentRun> {
  const report: DistillReport = await distill({
    data: ctx.options.data, dataOptions: ctx.dataOptions, seed: ctx.options.seed ?? 0, device: ctx.options.device, threads: ctx.options.threads,
    cacheDir: cacheDir(ctx), checkpointEvery: 50, signal: ctx.options.signal, token: ctx.options.token, ...options,
    out: run, resume: await resumable(run, resume),
    onEvent: (event) => ctx.emit({ type: 'train', stage: 'distill', run: name, event }),
  });
  if (report.interrupted) throw new Interrupted(`interrupted while training the ${name}`);
  return { run, model: path.join(run, 'model.onnx'), params: report.params, metrics: report.metrics as Record<string, number>, validation: report.validation };
}

export async function distillStage(ctx: Context, teacher: TeacherResult, service: TeacherService): Promise<StepRun<DistillResult>> {
  const r = ctx.recipe.student;
  const spec = ctx.options.student ?? r.spec;
  const recipe = { student: spec, epochs: r.epochs, lr: r.lr, batch: r.batch };
  const inputs = { stage: 'distill', where: ctx.where, teacher: teacher.teacherId, data: ctx.dataDigest, dataOptions: ctx.dataOptions, seed: ctx.options.seed ?? 0, recipe };
  return step(ctx.dir('distill'), inputs, async () => {
    const url = await service.url();
    const student = await step(ctx.dir('distill', 'student'), inputs, (resume) => distillRun(ctx, 'student', ctx.dir('distill', 'student'), resume, { teachers: [url], ...recipe }), (r) => [r.model]);
    ctx.checkStop();
    const twin = await step(ctx.dir('distill', 'twin'), inputs, (resume) => distillRun(ctx, 'twin', ctx.dir('distill', 'twin'), resume, { teachers: [url], noTeacher: true, ...recipe }), (r) => [r.model]);
    return { student: student.result, twin: twin.result, spec };
  }, (r) => [r.student.model, r.twin.model]);
}
