// The minnow commands that reproduce each stage of a pipeline run by hand, written from the same
// options the pipeline used.
import type { StructuredTargets } from '../src/nn/kinds/index.js';
import type { Context } from './context.js';
import type { TeacherResult } from './stages/teacher.js';
import type { ModelEntry } from './stages/evaluate.js';
import { cacheDir, type DistillResult } from './stages/distill.js';
import type { CompressResult } from './stages/compress.js';

const q = (s: string) => (/^[\w./:=,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const cmd = (...parts: (string | number | undefined | false)[]) => ['npx minnow', ...parts.filter((p) => p !== undefined && p !== false).map((p) => q(String(p)))].join(' ');

/** A flag and its value, or nothing when the value is absent. */
const flag = (name: string, value: string | number | undefined) => (value === undefined ? [] : [name, value]);

/** `--structured` as the CLI takes it. */
export function structuredFlag(t: StructuredTargets): string {
  const parts: string[] = [];
  if (t.layers) parts.push(`layers=${t.layers}`);
  if (t.dim) parts.push(`dim=${t.dim}`);
  if (t.heads) parts.push(`heads=${t.heads}`);
  if (t.ff) parts.push(`ffn=${t.ff}`);
  if (t.channels) parts.push(`channels=${t.channels.join('-')}`);
  if (t.hidden) parts.push(`hidden=${t.hidden.join('-')}`);
  return parts.join(',');
}

export type Commands = Record<'pipeline' | 'teacher' | 'serve' | 'distill' | 'compress' | 'evaluate', string[]>;

/** The compress stage by hand: int8 and int4, structured pruning and its recovery, QAT, and the int4 files of those. */
function compressCommands(ctx: Context, compressed: CompressResult, url: string, data: (string | number)[]): string[] {
  const s = ctx.recipe.student;
  const student = ctx.dir('distill', 'student', 'model.onnx');
  const recovery = ['--epochs', ctx.recipe.recoveryEpochs, '--lr', s.lr, '--batch', s.batch, '--cache', cacheDir(ctx)];
  const structured = JSON.parse(compressed.structured.targets) as StructuredTargets;
  const has = (name: string) => compressed.candidates.some((c) => c.name === name);
  return [
    cmd('compress', student, '--quantize', 'int8', '--out', ctx.dir('compress', 'int8.onnx')),
    cmd('compress', student, '--quantize', 'int4', '--out', ctx.dir('compress', 'int4.onnx')),
    cmd('compress', student, '--structured', structuredFlag(structured), '--out', ctx.dir('compress', 'structured-pruned.onnx')),
    cmd('distill', '--teacher', url, ...data, '--init-from', ctx.dir('compress', 'structured-pruned.onnx'), ...recovery, '--out', ctx.dir('compress', 'structured')),
    ...(has('structured-int4') ? [cmd('compress', ctx.dir('compress', 'structured', 'model.onnx'), '--quantize', 'int4', '--out', ctx.dir('compress', 'structured-int4.onnx'))] : []),
    ...(has('qat-int4') ? [
      cmd('distill', '--teacher', url, ...data, '--init-from', student, '--qat', 'int4', ...recovery, '--out', ctx.dir('compress', 'qat')),
      cmd('compress', ctx.dir('compress', 'qat', 'model.onnx'), '--quantize', 'int4', '--out', ctx.dir('compress', 'qat-int4.onnx')),
    ] : []),
  ];
}

/** `measured`: the files the evaluate stage measured, each of which gets its `minnow eval`. */
export function commandsFor(ctx: Context, teacher: TeacherResult, distilled: DistillResult, compressed: CompressResult, measured: ModelEntry[]): Commands {
  const o = ctx.options;
  const limit = ctx.dataOptions.limit ? ['--limit', ctx.dataOptions.limit] : [];
  const machine = [...flag('--device', o.device && o.device !== 'cpu' ? o.device : undefined), ...flag('--threads', o.threads)];
  const data = ['--data', o.data, ...limit, '--seed', o.seed ?? 0, ...machine];
  const url = teacher.url ?? 'ws://127.0.0.1:7070';
  const t = ctx.recipe.teacher, s = ctx.recipe.student;
  const run = ['--epochs', s.epochs, '--lr', s.lr, '--batch', s.batch, '--cache', cacheDir(ctx)];
  return {
    pipeline: [cmd('pipeline', '--data', o.data, ...flag('--task', o.task), ...flag('--teacher-model', o.teacherModel), ...flag('--teacher', o.teacherUrl),
      ...flag('--teacher-spec', o.teacherSpec), ...flag('--student', o.student), o.quick && '--quick', ...limit, ...flag('--seed', o.seed || undefined), ...machine, '--out', o.out)],
    teacher: teacher.source === 'trained'
      ? [cmd('teacher', 'train', '--task', ctx.task, ...data, '--model', t.spec, '--epochs', t.epochs, '--lr', t.lr, '--batch', t.batch, '--out', ctx.dir('teacher', 'run'))]
      : [],
    serve: teacher.model ? [cmd('teacher', 'serve', teacher.model, '--port', 7070)] : [],
    distill: [
      cmd('distill', '--teacher', url, ...data, '--student', distilled.spec, ...run, '--out', ctx.dir('distill', 'student')),
      cmd('distill', '--teacher', url, '--no-teacher', ...data, '--student', distilled.spec, ...run, '--out', ctx.dir('distill', 'twin')),
    ],
    compress: compressCommands(ctx, compressed, url, data),
    evaluate: measured.map((e) => cmd('eval', e.file, '--data', o.data, ...limit, '--split', ctx.task === 'lm' ? 'validation' : 'test')),
  };
}
