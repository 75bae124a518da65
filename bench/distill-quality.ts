// Does distillation help? A student trained from a teacher's soft labels against the same student
// on hard labels only (--no-teacher), over several seeds, in one run.
//   npx tsx bench/distill-quality.ts --teacher-model runs/teacher-spam/model.onnx --data spam \
//     --student student-tiny --epochs 3 --seeds 0,1,2
// Language models: --top-k K --soft-labels topk|sample (K tokens drawn from the teacher instead of its top K).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { serveTeacher } from '../teacher/server.js';
import { distill } from '../student/distill.js';
import { evaluateModelFile } from '../src/train/evaluate.js';

const { values } = parseArgs({ options: {
  'teacher-model': { type: 'string' }, data: { type: 'string' }, student: { type: 'string' },
  epochs: { type: 'string', default: '3' }, seeds: { type: 'string', default: '0,1,2' }, lr: { type: 'string', default: '0.001' },
  batch: { type: 'string', default: '32' }, alpha: { type: 'string', default: '0.5' }, temperature: { type: 'string' },
  'top-k': { type: 'string', default: '32' }, 'soft-labels': { type: 'string', default: 'topk' }, 'no-twin': { type: 'boolean', default: false }, limit: { type: 'string' }, augment: { type: 'boolean', default: false },
  // A warm soft-label cache from an earlier run with the same teacher, temperature and k.
  'cache-dir': { type: 'string' },
} });
if (!values['teacher-model'] || !values.data || !values.student) throw new Error('need --teacher-model, --data and --student');
const seeds = values.seeds!.split(',').map(Number);
const server = await serveTeacher({ model: values['teacher-model'], port: 0, logger: false });
const task = server.model.task;
const dataOptions = values.limit ? { limit: Number(values.limit) } : {};
const teacherTest = await evaluateModelFile(values['teacher-model'], { data: values.data, dataOptions });
const cacheDir = values['cache-dir'] ?? mkdtempSync(path.join(tmpdir(), 'minnow-kdq-cache-'));
const score = (m: { accuracy?: number; val_loss?: number; loss?: number }) => m.accuracy ?? m.val_loss ?? m.loss!;
const rows: Record<string, unknown>[] = [];
let sizes: { student_params: number; compression_ratio: number | null } = { student_params: 0, compression_ratio: null };
let temperature: number | undefined;
for (const seed of seeds) {
  const common = {
    data: values.data, student: values.student, epochs: Number(values.epochs), batch: Number(values.batch), lr: Number(values.lr),
    seed, cacheDir, dataOptions, checkpointEvery: 100_000, augment: values.augment,
  };
  const t0 = Date.now();
  const kd = await distill({ ...common, teachers: [server.url], alpha: Number(values.alpha), temperature: values.temperature ? Number(values.temperature) : undefined, topK: Number(values['top-k']), sample: values['soft-labels'] === 'sample', out: mkdtempSync(path.join(tmpdir(), 'minnow-kdq-')) });
  const t1 = Date.now();
  // --no-twin: the twin does not depend on how soft labels are sent; an earlier run measured it.
  const base = values['no-twin'] ? undefined : await distill({ ...common, task: task as 'classify', teachers: [server.url], noTeacher: true, out: mkdtempSync(path.join(tmpdir(), 'minnow-kdq-')) });
  const row = {
    seed, kd: score(kd.metrics), no_teacher: base ? score(base.metrics) : NaN,
    // Choose settings by these, not by the test scores above.
    kd_validation: score(kd.validation), no_teacher_validation: base ? score(base.validation) : NaN,
    kd_agreement: kd.validation.teacher_agreement, no_teacher_agreement: base?.validation.teacher_agreement,
    kd_seconds: (t1 - t0) / 1000, kd_wait_share: kd.teacher_wait_share,
  };
  rows.push(row);
  console.error(JSON.stringify(row));
  sizes = { student_params: kd.student_params, compression_ratio: kd.compression_ratio };
  temperature = (kd.distillation as { temperature: number } | null)?.temperature;
}
await server.close();
const mean = (k: 'kd' | 'no_teacher' | 'kd_validation' | 'no_teacher_validation') => rows.reduce((a, r) => a + (r[k] as number), 0) / rows.length;
const teacherScore = task === 'lm' ? undefined : teacherTest.accuracy;
console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10), task, data: values.data, student: values.student, epochs: Number(values.epochs),
  alpha: Number(values.alpha), temperature, augment: values.augment, lr: Number(values.lr),
  soft_labels: task === 'lm' ? `${values['soft-labels']} k=${values['top-k']}` : 'full',
  metric: task === 'lm' ? 'validation loss (nats/token, lower is better)' : 'test accuracy',
  teacher: { file: values['teacher-model'], params: server.model.params, test: teacherTest },
  ...sizes,
  seeds: rows,
  mean_kd: mean('kd'), mean_no_teacher: mean('no_teacher'),
  mean_kd_validation: mean('kd_validation'), mean_no_teacher_validation: mean('no_teacher_validation'),
  kd_share_of_teacher: teacherScore ? mean('kd') / teacherScore : undefined,
}, null, 2));
