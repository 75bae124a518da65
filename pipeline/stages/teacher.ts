// Stage 1: the teacher. Reads the data first (a bad file stops here, with its line), then trains a
// teacher sized for the data, or takes the model file or the running server it was given.
import path from 'node:path';
import { loadDataset, DataError } from '../../src/data/datasets.js';
import { META } from '../../src/format/metadata.js';
import { readOnnxFile } from '../../src/onnx/model-file.js';
import { train, type TrainReport } from '../../src/train/job.js';
import { TeacherClient } from '../../student/teacher-client.js';
import type { Context } from '../context.js';
import { fileDigest, Interrupted, resumable, step, type StepRun } from '../steps.js';

export interface TeacherResult {
  source: 'trained' | 'file' | 'server';
  /** The model file (trained or given); absent for a server. */
  model?: string;
  url?: string;
  teacherId?: string;
  spec?: string;
  params?: number;
  /** The teacher's own test metrics (from its report or metadata). */
  metrics?: Record<string, number>;
  /** Examples (characters for corpora) per split. */
  examples: Record<'train' | 'validation' | 'test', number>;
  /** The run directory of a trained teacher: report.json, metrics.jsonl. */
  run?: string;
}

function checkData(ctx: Context): TeacherResult['examples'] {
  const data = loadDataset(ctx.options.data, ctx.task, ctx.dataOptions);
  const count = (split: 'train' | 'validation' | 'test') => data.splits[split].length;
  if (data.task !== 'lm' && data.labels.length < 2) throw new DataError(`${data.name}: a classifier needs at least two labels, found ${data.labels.length}`);
  const examples = { train: count('train'), validation: count('validation'), test: count('test') };
  if (examples.train === 0 || examples.test === 0) throw new DataError(`${data.name}: the train or test split is empty (${JSON.stringify(examples)}); give more data`);
  return examples;
}

async function trainTeacher(ctx: Context, resume: boolean, examples: TeacherResult['examples']): Promise<TeacherResult> {
  const run = ctx.dir('teacher', 'run');
  const r = ctx.recipe.teacher;
  const report: TrainReport = await train({
    task: ctx.task, data: ctx.options.data, model: r.spec, epochs: r.epochs, lr: r.lr, batch: r.batch, seed: ctx.options.seed ?? 0,
    device: ctx.options.device, threads: ctx.options.threads, dataOptions: ctx.dataOptions, out: run, checkpointEvery: 50,
    resume: await resumable(run, resume),
    signal: ctx.options.signal, onEvent: (event) => ctx.emit({ type: 'train', stage: 'teacher', run: 'teacher', event }),
  });
  if (report.interrupted) throw new Interrupted('interrupted while training the teacher');
  const model = path.join(run, 'model.onnx');
  return { source: 'trained', model, teacherId: fileDigest(model), spec: r.spec, params: report.params, metrics: report.metrics as Record<string, number>, examples, run };
}

function takeFile(file: string, ctx: Context, examples: TeacherResult['examples']): TeacherResult {
  const { graph } = readOnnxFile(file);
  const task = graph.metadata.get(META.task);
  if (task && task !== ctx.task) throw new DataError(`--teacher-model ${file} is a --task ${task} model; the data is for --task ${ctx.task}`);
  const metrics = graph.metadata.get(META.metrics);
  const params = [...graph.initializers.values()].reduce((n, t) => n + t.size, 0);
  return { source: 'file', model: path.resolve(file), teacherId: fileDigest(file), spec: graph.metadata.get(META.model), params, metrics: metrics ? JSON.parse(metrics) : undefined, examples };
}

async function askServer(url: string, ctx: Context, examples: TeacherResult['examples']): Promise<TeacherResult> {
  const client = await TeacherClient.connect({ urls: [url], token: ctx.options.token, reconnectTimeoutMs: 10_000 });
  try {
    const { info } = client;
    if (info.task !== ctx.task) throw new DataError(`the teacher at ${url} serves --task ${info.task}; the data is for --task ${ctx.task}`);
    return { source: 'server', url, teacherId: info.teacher_id, params: info.params, metrics: info.metrics as Record<string, number> | undefined, examples };
  } finally {
    await client.close();
  }
}

export async function teacherStage(ctx: Context): Promise<StepRun<TeacherResult>> {
  const o = ctx.options;
  if (o.teacherUrl) {
    // Another teacher may answer at the same URL next time: ask the server every run.
    const t0 = Date.now();
    const result = await askServer(o.teacherUrl, ctx, checkData(ctx));
    return { result, skipped: false, seconds: (Date.now() - t0) / 1000 };
  }
  const given = o.teacherModel ? { file: fileDigest(o.teacherModel) } : { recipe: ctx.recipe.teacher };
  const inputs = { stage: 'teacher', where: ctx.where, data: ctx.dataDigest, task: ctx.task, dataOptions: ctx.dataOptions, seed: o.seed ?? 0, given };
  return step(ctx.dir('teacher'), inputs, async (resume) => {
    const examples = checkData(ctx);
    return o.teacherModel ? takeFile(o.teacherModel, ctx, examples) : trainTeacher(ctx, resume, examples);
  }, (r) => (r.model ? [r.model] : []));
}
