// `minnow pipeline` as a library call: teacher, serve, distill, compress, evaluate, report. Each
// stage writes under DIR/<stage>/, is skipped when its inputs and options are unchanged, and resumes
// after an interruption; the teacher server it starts is stopped however the run ends.
import { existsSync, mkdirSync } from 'node:fs';
import { checkDataExists, DataError, taskOfData } from '../src/data/datasets.js';
import type { Task } from '../src/format/metadata.js';
import { checkArchForTask, parseModelSpec } from '../src/nn/spec.js';
import { packageVersion } from '../src/util/version.js';
import { makeContext, STAGES, type Context, type PipelineOptions, type StageName } from './context.js';
import { recipeFor, type Recipe } from './recipes.js';
import { commandsFor } from './commands.js';
import { TeacherService, type ServeResult } from './serve.js';
import { teacherStage, type TeacherResult } from './stages/teacher.js';
import { distillStage, type DistillResult } from './stages/distill.js';
import { compressStage, type CompressResult } from './stages/compress.js';
import { evaluateStage, type ModelEntry } from './stages/evaluate.js';
import { curvesOf, reportStage, writeReport, type PipelineReport, type StageSummary } from './report.js';
import type { StepRun } from './steps.js';
import { describe } from './describe.js';

type Summaries = Partial<Record<StageName, StageSummary>>;

/** Runs one stage, telling its start and its one-line result; errors name the stage. */
async function stage<T>(ctx: Context, summaries: Summaries, name: StageName, run: () => Promise<StepRun<T>>, line: (result: T) => string): Promise<T> {
  ctx.checkStop();
  ctx.emit({ type: 'stage', stage: name, status: 'started' });
  let done: StepRun<T>;
  try {
    done = await run();
  } catch (err) {
    if (err instanceof Error && err.name !== 'Interrupted') err.message = `${name} stage: ${err.message}`;
    throw err;
  }
  const summary: StageSummary = { status: done.skipped ? 'skipped' : 'ran', seconds: done.seconds, line: line(done.result), result: done.result };
  summaries[name] = summary;
  ctx.emit({ type: 'stage', stage: name, status: done.skipped ? 'skipped' : 'done', line: summary.line, seconds: done.seconds });
  return done.result;
}

/** What can be checked before any stage runs: a bad --student must not wait for a trained teacher. */
function checkOptions(options: PipelineOptions, task: Task, recipe: Recipe): void {
  if (options.teacherModel && options.teacherUrl) throw new DataError('give --teacher-model or --teacher, not both');
  if (options.teacherModel && !existsSync(options.teacherModel)) throw new DataError(`--teacher-model ${options.teacherModel} not found`);
  if (options.teacherUrl && !/^wss?:\/\//.test(options.teacherUrl)) throw new DataError(`--teacher ${options.teacherUrl}: expected ws://HOST:PORT`);
  checkDataExists(options.data);
  for (const spec of [recipe.teacher.spec, options.student ?? recipe.student.spec]) checkArchForTask(parseModelSpec(spec), task, spec);
}

/** Every file the evaluate stage measures: the teacher (when it is a file), the student, its twin, the compressed ones. */
function modelsToMeasure(teacher: TeacherResult, distilled: DistillResult, compressed: CompressResult): ModelEntry[] {
  const entries: ModelEntry[] = [];
  if (teacher.model) entries.push({ name: 'teacher', role: 'teacher', file: teacher.model, params: teacher.params ?? 0 });
  entries.push({ name: 'student', role: 'student', file: distilled.student.model, params: distilled.student.params });
  entries.push({ name: 'twin', role: 'twin', file: distilled.twin.model, params: distilled.twin.params });
  for (const c of compressed.candidates) if (c.name !== 'fp32') entries.push({ name: c.name, role: 'compressed', file: c.file, params: c.params });
  return entries;
}

function serveSummary(served: ServeResult): StageSummary {
  if (!served.started) return { status: 'not needed', seconds: 0, line: served.url ? `the teacher at ${served.url} serves; this run started none` : 'not needed: distill and compress were unchanged', result: served };
  return { status: 'ran', seconds: served.seconds, line: `teacher ${served.teacherId?.slice(0, 12)} on ${served.url}: ${served.requests} requests answered, ${served.errors} errors, up ${served.seconds.toFixed(0)} s`, result: served };
}

/** Teacher, then distill and compress through the teacher server, which stops however they end. */
async function trainStages(ctx: Context, summaries: Summaries): Promise<{ teacher: TeacherResult; distilled: DistillResult; compressed: CompressResult }> {
  const teacher = await stage(ctx, summaries, 'teacher', () => teacherStage(ctx), describe.teacher);
  const service = new TeacherService(ctx, teacher);
  try {
    const distilled = await stage(ctx, summaries, 'distill', () => distillStage(ctx, teacher, service), describe.distill);
    const compressed = await stage(ctx, summaries, 'compress', () => compressStage(ctx, distilled, service), describe.compress);
    return { teacher, distilled, compressed };
  } finally {
    summaries.serve = serveSummary(await service.stop());
  }
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineReport> {
  const task = options.task ?? taskOfData(options.data);
  const recipe = recipeFor(task, Boolean(options.quick));
  if (options.teacherSpec) recipe.teacher.spec = options.teacherSpec;
  checkOptions(options, task, recipe);
  const ctx = makeContext(options, task, recipe);
  mkdirSync(options.out, { recursive: true });
  const summaries: Summaries = {};
  const { teacher, distilled, compressed } = await trainStages(ctx, summaries);
  const measured = modelsToMeasure(teacher, distilled, compressed);
  const models = await stage(ctx, summaries, 'evaluate', () => evaluateStage(ctx, measured), describe.evaluate);
  const curves = [teacher.run && curvesOf(teacher.run, 'teacher', task), curvesOf(distilled.student.run, 'student', task), curvesOf(distilled.twin.run, 'twin', task)].filter((c) => !!c);
  const report = await stage(ctx, summaries, 'report', () => reportStage(ctx, {
    models, shipped: compressed.shipped === 'fp32' ? 'student' : compressed.shipped, version: packageVersion(),
    curves: { training: curves.flatMap((c) => c.training), validation: curves.flatMap((c) => c.validation) },
    commands: commandsFor(ctx, teacher, distilled, compressed, measured),
  }), describe.report(ctx));
  // The report's stage table is this run's (stages skipped now are shown as skipped), in stage order.
  const final = { ...report, stages: Object.fromEntries(STAGES.flatMap((s) => (summaries[s] ? [[s, summaries[s]]] : []))) };
  await writeReport(ctx, final);
  return final;
}
