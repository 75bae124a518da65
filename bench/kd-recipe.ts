// Why do spam students distilled at alpha 0.5 / T 2 trail their --no-teacher twins? Two parts:
//
// --checks: the pipeline, as an outside reviewer would test it. (1) --alpha 0 writes the same weights
// (minnow.weights_sha256) as --no-teacher. (2) For every training batch of the first epoch, the soft
// labels the server returns (what the trainer is fed), those read back from the cache, and the teacher
// model run directly on the batch's rows agree to 1e-6, with no argmax mismatch.
//
// --configs A:T[:option...],...: the recipe. For each setting and seed, a student is distilled and
// measured: test and per-epoch validation accuracy, the mean gradient norm of its last epoch, and
// on the training mails its own KD objective and how many it labels unlike the teacher.
// Options: noclip (no gradient clipping), warmup=N, lr=X, norm (the loss divided by alpha T^2 + 1 - alpha).
//   npx tsx bench/kd-recipe.ts --teacher runs/recipe/teacher/model.onnx --checks
//   npx tsx bench/kd-recipe.ts --teacher runs/recipe/teacher/model.onnx --configs 0.5:2,1:2,0.5:1,none --seeds 0,1,2
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serveTeacher } from '../teacher/server.js';
import { logSoftmaxRows } from '../teacher/soft-labels.js';
import { distill, type DistillOptions, type DistillReport } from '../student/distill.js';
import { SoftLabelSource } from '../student/soft-label-source.js';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { encodeModel } from '../src/onnx/codec.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { iterateBatches, type Batch } from '../src/data/batching.js';
import { splitSource, readerOf } from '../src/train/sources.js';
import { TEACHER_INPUTS } from '../src/train/distill-loss.js';
import { META, type Preprocessing } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';

const { values } = parseArgs({ options: {
  teacher: { type: 'string' }, data: { type: 'string', default: 'spam' }, student: { type: 'string', default: 'student-tiny' },
  epochs: { type: 'string', default: '3' }, seeds: { type: 'string', default: '0,1,2' }, out: { type: 'string', default: 'runs/recipe' },
  checks: { type: 'boolean', default: false }, configs: { type: 'string' },
} });
if (!values.teacher) throw new Error('need --teacher MODEL.onnx');
const teacherFile = values.teacher;
const out = values.out!;
mkdirSync(out, { recursive: true });
const cacheDir = path.join(out, 'soft-label-cache');
const log = (m: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/** Logits of a model file for every batch of a split, in the order the batches come. */
async function logitsOf(file: string, split: 'train' | 'validation', batches?: Batch[]): Promise<{ logits: Float32Array; labels: number[]; classes: number }> {
  const { graph } = readOnnxFile(file);
  const session = await createSession(encodeModel(graph));
  const rows: number[] = [], labels: number[] = [];
  for (const batch of batches ?? trainBatches(file, split)) {
    const { labels: l, ...inputs } = batch;
    const o = await run(session, inputs);
    rows.push(...(o[graph.outputs[0]!]!.data as Float32Array));
    labels.push(...Array.from(l!.data as BigInt64Array, Number));
  }
  await session.release();
  return { logits: Float32Array.from(rows), labels, classes: rows.length / labels.length };
}

function trainBatches(file: string, split: 'train' | 'validation' = 'train', batchSize = 64): Batch[] {
  const { graph } = readOnnxFile(file);
  const pre = JSON.parse(graph.metadata.get(META.preprocessing)!) as Preprocessing;
  const reader = readerOf(pre, tokenizerFromJSON(tokenizerJsonOf(graph.metadata)!));
  const data = loadDataset(values.data!, 'classify');
  return [...iterateBatches(splitSource(data, split, reader).source, { batchSize, seed: 0, epoch: 0, shuffle: false })];
}

const argmaxRows = (x: Float32Array, c: number) => Array.from({ length: x.length / c }, (_, r) => {
  let b = 0;
  for (let j = 1; j < c; j++) if (x[r * c + j]! > x[r * c + b]!) b = j;
  return b;
});

async function checks(): Promise<Record<string, unknown>> {
  const server = await serveTeacher({ model: teacherFile, port: 0, logger: false });
  const result: Record<string, unknown> = {};
  try {
    // (1) alpha 0 against --no-teacher, one epoch.
    const common: Omit<DistillOptions, 'out'> = { data: values.data!, student: values.student!, epochs: 1, seed: 0, teachers: [server.url], cacheDir, checkpointEvery: 100_000 };
    const sha = (dir: string) => readOnnxFile(path.join(dir, 'model.onnx')).graph.metadata.get(META.weightsSha256);
    await distill({ ...common, alpha: 0, out: path.join(out, 'check-alpha0') });
    await distill({ ...common, noTeacher: true, out: path.join(out, 'check-noteacher') });
    result.alpha0_sha = sha(path.join(out, 'check-alpha0'));
    result.no_teacher_sha = sha(path.join(out, 'check-noteacher'));
    result.alpha0_equals_no_teacher = result.alpha0_sha === result.no_teacher_sha;
    // (2) served (fed to the trainer) vs cached vs the teacher run directly, on the student's batches.
    const batches = trainBatches(teacherFile, 'train', 32);
    const direct = await logitsOf(teacherFile, 'train', batches);
    const T = 2;
    const directLp = logSoftmaxRows(direct.logits, direct.labels.length, direct.classes, T);
    const fresh = path.join(out, 'check-cache');
    const online = await SoftLabelSource.open({ teachers: [server.url], cacheDir: fresh, temperature: T, cache: true });
    const fed: number[] = [];
    for (const b of batches) fed.push(...(await online.forBatch(b))[TEACHER_INPUTS.logProbs]!.data as Float32Array);
    await online.flush();
    await online.close();
    const offline = await SoftLabelSource.open({ teachers: [], cacheDir: fresh, temperature: T, cache: true });
    const cached: number[] = [];
    for (const b of batches) cached.push(...(await offline.forBatch(b))[TEACHER_INPUTS.logProbs]!.data as Float32Array);
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!)); return m; };
    const am = (x: ArrayLike<number>) => argmaxRows(Float32Array.from(x), direct.classes);
    const mismatch = (a: number[], b: number[]) => a.filter((v, i) => v !== b[i]).length;
    Object.assign(result, {
      rows: direct.labels.length, offline_misses: offline.stats.misses,
      fed_vs_direct_max_abs: maxDiff(fed, directLp), cached_vs_fed_max_abs: maxDiff(cached, fed),
      argmax_mismatch_fed_vs_direct: mismatch(am(fed), am(directLp)), argmax_mismatch_cached_vs_direct: mismatch(am(cached), am(directLp)),
    });
    await offline.close();
  } finally {
    await server.close();
  }
  return result;
}

interface Config { name: string; alpha?: number; temperature?: number; noTeacher: boolean; options: Partial<DistillOptions> }

function parseConfig(spec: string): Config {
  if (spec === 'none') return { name: 'none', noTeacher: true, options: {} };
  const [a, t, ...opts] = spec.split(':');
  const options: Partial<DistillOptions> = {};
  for (const o of opts) {
    const [k, v] = o.split('=');
    if (k === 'noclip') options.maxGradNorm = 1e9;
    else if (k === 'warmup') options.warmup = Number(v);
    else if (k === 'lr') options.lr = Number(v);
    else throw new Error(`unknown option ${o}`);
  }
  return { name: spec, alpha: Number(a), temperature: Number(t), noTeacher: false, options };
}

/** Validation accuracy after each epoch and the mean gradient norm of the last, from metrics.jsonl. */
function curves(dir: string, epochs: number): { validation_by_epoch: number[]; last_epoch_grad_norm: number; first_epoch_grad_norm: number } {
  const rows = readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  const validation = rows.filter((r) => r.split === 'validation').map((r) => r.accuracy as number);
  const norms = (e: number) => rows.filter((r) => r.grad_norm !== undefined && r.epoch === e).map((r) => r.grad_norm as number);
  const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / Math.max(1, x.length);
  return { validation_by_epoch: validation, last_epoch_grad_norm: mean(norms(epochs - 1)), first_epoch_grad_norm: mean(norms(0)) };
}

/** On the training mails: the student's KD objective under its own setting, and how often it and the teacher disagree. */
async function onTrain(studentDir: string, teacher: { logits: Float32Array; labels: number[]; classes: number }, alpha: number, T: number) {
  const s = await logitsOf(path.join(studentDir, 'model.onnx'), 'train');
  const n = s.labels.length, c = s.classes;
  const pT = logSoftmaxRows(teacher.logits, n, c, T), qT = logSoftmaxRows(s.logits, n, c, T), q1 = logSoftmaxRows(s.logits, n, c, 1);
  let kl = 0, ce = 0;
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < c; j++) kl += Math.exp(pT[r * c + j]!) * (pT[r * c + j]! - qT[r * c + j]!);
    ce -= q1[r * c + s.labels[r]!]!;
  }
  const ts = argmaxRows(teacher.logits, c), ss = argmaxRows(s.logits, c);
  return {
    train_kd_objective: alpha * T * T * (kl / n) + (1 - alpha) * (ce / n), train_kl: kl / n, train_ce: ce / n,
    train_disagree_with_teacher: ss.filter((v, i) => v !== ts[i]).length, train_errors: ss.filter((v, i) => v !== s.labels[i]).length,
  };
}

async function sweep(configs: Config[]): Promise<Record<string, unknown>[]> {
  const server = await serveTeacher({ model: teacherFile, port: 0, logger: false });
  const teacherTrain = await logitsOf(teacherFile, 'train');
  const epochs = Number(values.epochs);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const config of configs) {
      for (const seed of values.seeds!.split(',').map(Number)) {
        const dir = path.join(out, config.name.replace(/[:=]/g, '_'), `seed${seed}`);
        const file = path.join(dir, 'report.json');
        if (!existsSync(file)) {
          log(`${config.name} seed ${seed}`);
          await distill({
            data: values.data!, student: values.student!, epochs, seed, teachers: [server.url], cacheDir, checkpointEvery: 100_000,
            task: 'classify', noTeacher: config.noTeacher, alpha: config.alpha, temperature: config.temperature, ...config.options, out: dir,
          });
        }
        const report = JSON.parse(readFileSync(file, 'utf8')) as DistillReport;
        const row = {
          config: config.name, seed, test: (report.metrics as { accuracy: number }).accuracy, validation: report.validation.accuracy,
          agreement: report.validation.teacher_agreement, ...curves(dir, epochs),
          ...(await onTrain(dir, teacherTrain, config.alpha ?? 0, config.temperature ?? 1)),
        };
        rows.push(row);
        log(JSON.stringify(row));
      }
    }
  } finally {
    await server.close();
  }
  return rows;
}

const report: Record<string, unknown> = { date: new Date().toISOString().slice(0, 10), teacher: teacherFile, data: values.data, student: values.student, epochs: Number(values.epochs) };
if (values.checks) report.checks = await checks();
if (values.configs) report.runs = await sweep(values.configs.split(',').map(parseConfig));
console.log(JSON.stringify(report, null, 2));
