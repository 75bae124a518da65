// Stage 6: the report. DIR/report.json holds every number (stages, models, curves, the shipped file
// and the commands that reproduce each stage), DIR/report.html shows them, and DIR/student.onnx is
// the shipped student.
import { copyFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../src/format/metadata.js';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import type { Context, StageName } from './context.js';
import type { Commands } from './commands.js';
import type { Measured } from './stages/evaluate.js';
import { digestOf, step, type StepRun } from './steps.js';
import { renderReport } from './report-html.js';

export interface StageSummary { status: 'ran' | 'skipped' | 'not needed'; seconds: number; line: string; result?: unknown }

export interface CurvePoint { run: string; step: number; value: number }

export interface PipelineReport {
  minnow: string;
  created: string;
  data: string;
  task: Task;
  quick: boolean;
  out: string;
  metricName: 'accuracy' | 'val_loss';
  stages: Partial<Record<StageName, StageSummary>>;
  models: Measured[];
  shipped: { model: string; file: string; sha256: string; bytes: number; metric: number; teacherBytesRatio?: number; teacherMetricShare?: number };
  curves: { training: CurvePoint[]; validation: CurvePoint[] };
  commands: Commands;
  snippet: string;
}

/** Training loss and validation figures from a run's metrics.jsonl. */
export function curvesOf(run: string, name: string, task: Task): PipelineReport['curves'] {
  const file = path.join(run, 'metrics.jsonl');
  const rows = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, number | string>) : [];
  const value = (r: Record<string, number | string>) => Number(task === 'lm' ? r.val_loss ?? r.loss : r.accuracy);
  return {
    training: rows.filter((r) => r.split === undefined).map((r) => ({ run: name, step: Number(r.step), value: Number(r.loss) })),
    validation: rows.filter((r) => r.split === 'validation').map((r) => ({ run: name, step: Number(r.step), value: value(r) })),
  };
}

/** How an app loads the shipped student with minnow/runtime, by task. */
function snippet(task: Task): string {
  const use = task === 'lm'
    ? "for await (const piece of model.generate('Call me', { maxTokens: 64 })) process.stdout.write(piece);"
    : task === 'image'
      ? 'const [top] = await model.classify(pixels); // c*h*w values, 0-255'
      : "const [top] = await model.classify('Congratulations, you won a free cruise!');";
  return `import * as ort from 'onnxruntime-web'; // or onnxruntime-node, onnxruntime-react-native
import { loadModel } from 'minnow/runtime';

const model = await loadModel('student.onnx', { ort }); // checks the weights' sha256
${use}`;
}

export interface ReportInputs {
  models: Measured[];
  shipped: string;
  curves: PipelineReport['curves'];
  commands: Commands;
  version: string;
}

function shippedOf(ctx: Context, inputs: ReportInputs): PipelineReport['shipped'] {
  const ship = inputs.models.find((m) => m.name === inputs.shipped)!;
  const teacher = inputs.models.find((m) => m.role === 'teacher');
  return {
    model: ship.name, file: path.join(ctx.out, 'student.onnx'), sha256: ship.sha256, bytes: ship.bytes, metric: ship.metric,
    teacherBytesRatio: teacher ? teacher.bytes / ship.bytes : undefined,
    teacherMetricShare: teacher && ctx.task !== 'lm' ? ship.metric / teacher.metric : undefined,
  };
}

export async function reportStage(ctx: Context, inputs: ReportInputs): Promise<StepRun<PipelineReport>> {
  return step(ctx.dir('report'), { digest: digestOf({ ...inputs, where: ctx.where }) }, async () => {
    const report: PipelineReport = {
      minnow: inputs.version, created: new Date().toISOString(), data: ctx.options.data, task: ctx.task, quick: Boolean(ctx.options.quick), out: ctx.out,
      metricName: ctx.task === 'lm' ? 'val_loss' : 'accuracy', stages: {} /* this run's, filled in by runPipeline */, models: inputs.models, shipped: shippedOf(ctx, inputs),
      curves: inputs.curves, commands: inputs.commands, snippet: snippet(ctx.task),
    };
    await copyFile(inputs.models.find((m) => m.name === inputs.shipped)!.file, report.shipped.file);
    return report;
  }, (r) => [r.shipped.file]);
}

/** report.json and report.html, with the stages as they finally stand (report's own included). */
export async function writeReport(ctx: Context, report: PipelineReport): Promise<void> {
  await writeFileAtomic(path.join(ctx.out, 'report.json'), JSON.stringify(report, null, 2) + '\n');
  await writeFileAtomic(path.join(ctx.out, 'report.html'), await renderReport(report));
}
