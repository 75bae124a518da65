// `minnow distill`: a thin shell over student/distill.ts.
import { readFileSync } from 'node:fs';
import { int, num, device, pruneSchedule, qat } from './options.js';
import { Command } from 'commander';
import { distill } from '../../student/distill.js';
import { trainProgress } from './progress.js';
import { UsageError } from './errors.js';


export function addDistillCommand(program: Command): void {
  program.command('distill')
    .description('train a compact student from a live teacher\'s soft labels')
    .option('--teacher <url>', 'ws://HOST:PORT of a teacher (repeat for failover)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--token-file <file>', 'bearer token for the teacher (first line)')
    .requiredOption('--data <name|path>', 'data set, as for train')
    .option('--task <task>', 'classify, lm or image (only needed with --no-teacher)')
    .option('--student <spec>', 'student preset or spec (default: student-tiny, student-lm-tiny or student-image by task)')
    .option('--alpha <x>', 'weight of the soft loss (1 - alpha on hard labels)', num('--alpha', 1), 0.5)
    .option('--temperature <x>', 'softmax temperature of teacher and student', num('--temperature'), 2)
    .option('--top-k <n>', 'top-k soft labels for language models', int('--top-k'), 32)
    .option('--epochs <n>', 'passes over the training split', int('--epochs'), 1)
    .option('--batch <n>', 'examples per step', int('--batch'), 32)
    .option('--lr <x>', 'peak learning rate', num('--lr'), 1e-3)
    .option('--seed <n>', 'seed for initialisation and data order', (v) => Number.parseInt(v, 10), 0)
    .option('--device <device>', 'cpu, cuda or webgpu', device, 'cpu')
    .option('--resume <dir>', 'continue a killed run from its last checkpoint')
    .option('--offline', 'train from the soft-label cache alone')
    .option('--no-teacher', 'the baseline: the same student on hard labels only')
    .option('--teacher-id <sha256>', 'with --offline: which cached teacher')
    .option('--cache <dir>', 'soft-label cache directory (default ~/.cache/minnow/soft-labels)')
    .option('--prefetch <n>', 'batches of soft labels requested ahead', int('--prefetch'), 8)
    .option('--baseline <report.json>', 'report of the --no-teacher run, for kd_gain_vs_baseline')
    .option('--max-steps <n>', 'stop after N steps', int('--max-steps'))
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps', int('--checkpoint-every'), 200)
    .option('--limit <n>', 'use at most N examples per split', int('--limit'))
    .option('--threads <n>', 'onnxruntime intra-op threads', int('--threads'))
    .option('--prune <sparsity>', 'magnitude-prune MatMul/Conv weights to this sparsity while distilling', num('--prune', 0.99))
    .option('--prune-schedule <start:end>', 'fractions of the run over which sparsity ramps up', pruneSchedule)
    .option('--qat <int4|int4:BLOCK|int8>', 'quantization-aware distillation: the student trains as minnow compress will store it', qat)
    .option('--augment', 'augment training batches (images: shifts and flips; text: random windows of long texts); the teacher labels each view')
    .option('--init-from <model.onnx>', 'start the student from this model (e.g. a structured-pruned student) instead of --student')
    .requiredOption('--out <dir>', 'where model.onnx, checkpoint/, metrics.jsonl and report.json go')
    .action(async (o) => {
      const noTeacher = o.teacher === false; // commander's negation of --teacher
      const teachers: string[] = Array.isArray(o.teacher) ? o.teacher : [];
      if (!noTeacher && !o.offline && !o.resume && teachers.length === 0) throw new UsageError('give --teacher ws://HOST:PORT (or --offline, or --no-teacher for the baseline)');
      if (o.augment && o.offline) throw new UsageError('--augment needs the teacher for every new view of an example; it cannot run --offline');
      const token = o.tokenFile ? readFileSync(o.tokenFile, 'utf8').split('\n')[0]!.trim() : undefined;
      const baseline = o.baseline ? JSON.parse(readFileSync(o.baseline, 'utf8')) : undefined;
      const controller = new AbortController();
      process.once('SIGINT', () => { process.stderr.write('\ninterrupt: writing a checkpoint\n'); controller.abort(); });
      const report = await distill({
        teachers, token, data: o.data, task: o.task, student: o.student, alpha: o.alpha, temperature: o.temperature, topK: o.topK,
        epochs: o.epochs, batch: o.batch, lr: o.lr, seed: o.seed, device: o.device, out: o.out, resume: o.resume,
        offline: o.offline, noTeacher, teacherId: o.teacherId, cacheDir: o.cache, prefetch: o.prefetch, baseline,
        maxSteps: o.maxSteps, checkpointEvery: o.checkpointEvery, threads: o.threads, dataOptions: { limit: o.limit },
        prune: o.prune ? { sparsity: o.prune, ...o.pruneSchedule } : undefined, initFrom: o.initFrom, augment: o.augment, qat: o.qat,
        onEvent: trainProgress(), signal: controller.signal,
      });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      if (report.interrupted) process.exitCode = 130;
    });
}
