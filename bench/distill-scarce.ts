// Distillation where it pays: few labels, many unlabelled examples. For each seed, a teacher learns
// from a fraction of the training labels (spam: after pretraining as a language model on the text of
// every training mail), and three students of one preset train:
//   (a) on the same few labels alone, (b) distilled on every training example, the few labelled and
//   the rest unlabelled (--unlabeled), (c) on all the labels, the ceiling.
// Gap recovery is (b - a) / (c - a), and for the teacher (teacher - a) / (c - a).
//   npx tsx bench/distill-scarce.ts --data spam --seeds 0,1,2 --out runs/scarce
//   npx tsx bench/distill-scarce.ts --data fashion-mnist --seeds 0,1,2 --out runs/scarce
// Every run writes its report.json under --out and is skipped when that file is there, so an
// interrupted bench goes on where it stopped.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { train, type TrainJobOptions, type TrainReport } from '../src/train/job.js';
import { DEFAULT_TEMPERATURE, distill, type DistillOptions } from '../student/distill.js';
import { serveTeacher } from '../teacher/server.js';

interface Recipe {
  fraction: number;
  /** Pretraining as a language model on the training text (labels unseen), once for all seeds. */
  pretrain?: Omit<TrainJobOptions, 'out'>;
  teacher: Omit<TrainJobOptions, 'out' | 'seed' | 'task' | 'data'>;
  student: string;
  epochs: number;
  /** Epochs of student (a), which sees only the labelled fraction. */
  fewEpochs: number;
  lr: number;
}

const TEXT_TEACHER = 'transformer:layers=4,dim=256,heads=4,ff=1024,ctx=256';
const RECIPES: Record<string, Recipe> = {
  spam: {
    fraction: 0.05,
    pretrain: { task: 'lm', data: 'spam', model: TEXT_TEACHER, tokenizer: 'bpe', vocabSize: 4000, epochs: 1, lr: 1e-3 },
    teacher: { epochs: 20, lr: 3e-4, augment: true },
    student: 'student-tiny', epochs: 3, fewEpochs: 60, lr: 1e-3,
  },
  'fashion-mnist': {
    fraction: 0.02,
    teacher: { model: 'cnn-large', epochs: 30, lr: 1e-3, augment: true },
    student: 'student-image', epochs: 4, fewEpochs: 100, lr: 1e-3,
  },
};

const { values } = parseArgs({ options: {
  data: { type: 'string', default: 'spam' }, seeds: { type: 'string', default: '0,1,2' }, out: { type: 'string', default: 'runs/scarce' },
  // Overrides of the recipe, for choosing it by validation accuracy.
  'teacher-epochs': { type: 'string' }, 'few-epochs': { type: 'string' }, alpha: { type: 'string', default: '0.5' }, temperature: { type: 'string' },
  only: { type: 'string', default: 'teacher,a,b,c' },
} });
const data = values.data!;
const recipe = RECIPES[data];
if (!recipe) throw new Error(`--data must be one of ${Object.keys(RECIPES).join(', ')}`);
if (values['teacher-epochs']) recipe.teacher.epochs = Number(values['teacher-epochs']);
if (values['few-epochs']) recipe.fewEpochs = Number(values['few-epochs']);
const only = new Set(values.only!.split(','));
const root = path.join(values.out!, data);
mkdirSync(root, { recursive: true });
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** A run's report, from its report.json when an earlier bench finished it. */
async function once<R extends TrainReport>(out: string, run: (out: string) => Promise<R>): Promise<R> {
  const file = path.join(out, 'report.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as R;
  log(`running ${out}`);
  const started = Date.now();
  const report = await run(out);
  log(`${out}: test ${JSON.stringify(report.metrics)}, validation ${report.validation.accuracy}, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return report;
}

const pretrained = recipe.pretrain ? await once(path.join(root, 'lm'), (out) => train({ ...recipe.pretrain!, out, checkpointEvery: 200 })) : undefined;
const task = data === 'fashion-mnist' ? 'image' : 'classify';
const fractionOptions = { labelsFraction: recipe.fraction };
const rows: Record<string, number>[] = [];
for (const seed of values.seeds!.split(',').map(Number)) {
  const dir = path.join(root, `seed${seed}`);
  const teacher = await once(path.join(dir, 'teacher'), (out) => train({
    ...recipe.teacher, task, data, seed, out, dataOptions: fractionOptions, checkpointEvery: 100_000,
    initFrom: pretrained ? path.join(root, 'lm', 'model.onnx') : undefined,
  }));
  if (!only.has('a') && !only.has('b') && !only.has('c')) continue;
  const server = await serveTeacher({ model: path.join(dir, 'teacher', 'model.onnx'), port: 0, logger: false });
  try {
    const common: Omit<DistillOptions, 'out'> = {
      data, student: recipe.student, lr: recipe.lr, seed, teachers: [server.url], cacheDir: path.join(root, 'soft-label-cache'), checkpointEvery: 100_000,
      alpha: Number(values.alpha), temperature: values.temperature ? Number(values.temperature) : undefined,
    };
    const few = only.has('a') ? await once(path.join(dir, 'a-few-labels'), (out) => distill({ ...common, task, noTeacher: true, epochs: recipe.fewEpochs, dataOptions: fractionOptions, out })) : undefined;
    const kd = only.has('b') ? await once(path.join(dir, 'b-distilled'), (out) => distill({ ...common, epochs: recipe.epochs, dataOptions: fractionOptions, unlabeled: [data], out })) : undefined;
    const all = only.has('c') ? await once(path.join(dir, 'c-all-labels'), (out) => distill({ ...common, task, noTeacher: true, epochs: recipe.epochs, out })) : undefined;
    const acc = (r: TrainReport | undefined) => (r?.metrics as { accuracy?: number } | undefined)?.accuracy ?? NaN;
    const row = {
      seed, teacher: acc(teacher), a: acc(few), b: acc(kd), c: acc(all),
      teacher_validation: teacher.validation.accuracy!, a_validation: few?.validation.accuracy ?? NaN, b_validation: kd?.validation.accuracy ?? NaN, c_validation: all?.validation.accuracy ?? NaN,
      b_agreement: kd?.validation.teacher_agreement ?? NaN, teacher_params: teacher.params, student_params: kd?.params ?? few?.params ?? NaN,
    };
    rows.push(row);
    log(JSON.stringify(row));
  } finally {
    await server.close();
  }
}

const mean = (k: string) => rows.reduce((s, r) => s + r[k]!, 0) / Math.max(1, rows.length);
const recovery = (x: number, r: Record<string, number>) => (x - r.a!) / (r.c! - r.a!);
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10), data, recipe, alpha: Number(values.alpha), temperature: values.temperature ? Number(values.temperature) : `${DEFAULT_TEMPERATURE[task]} (the task's default)`,
  pretrained: pretrained ? { steps: pretrained.steps, validation_loss: pretrained.validation.loss, train_seconds: pretrained.train_seconds } : null,
  seeds: rows.map((r) => ({ ...r, b_recovery: recovery(r.b!, r), teacher_recovery: recovery(r.teacher!, r), b_minus_a: r.b! - r.a! })),
  mean: { teacher: mean('teacher'), a: mean('a'), b: mean('b'), c: mean('c'), teacher_validation: mean('teacher_validation'), a_validation: mean('a_validation'), b_validation: mean('b_validation'), c_validation: mean('c_validation') },
  student_recovery: (mean('b') - mean('a')) / (mean('c') - mean('a')),
  teacher_recovery: (mean('teacher') - mean('a')) / (mean('c') - mean('a')),
  b_share_of_teacher: mean('b') / mean('teacher'),
  b_beats_a_every_seed: rows.every((r) => r.b! > r.a!),
  teacher_over_student_params: rows[0] ? rows[0].teacher_params! / rows[0].student_params! : null,
}, null, 2));
