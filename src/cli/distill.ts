// `minnow distill`: a thin shell over student/distill.ts.
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { int, num, readPem, readToken } from './options.js';
import { distill } from '../../student/distill.js';
import { trainProgress } from './progress.js';
import { UsageError } from './errors.js';
import { addRunOptions, interruptible, runOptionsOf } from './run-options.js';

export function addDistillCommand(program: Command): void {
  // Commander reads --no-teacher as the negation of --teacher, and the later of the two would win.
  // Both are kept aside instead, so that the baseline with the teacher's tokenizer (--teacher URL
  // --no-teacher, in either order) keeps the URL.
  const urls: string[] = [];
  let baselineOnly = false;
  const command = program.command('distill')
    .description('train a compact student from a live teacher\'s soft labels')
    .option('--teacher <url>', 'ws://HOST:PORT of a teacher (repeat for replicas of the same teacher: all are used at once)', (v: string) => { urls.push(v); return urls; })
    .option('--token-file <file>', 'bearer token for the teacher (first line)')
    .option('--ca <file>', 'PEM certificate of the CA that signed the wss:// teachers\' certificates (a private CA)')
    .option('--task <task>', 'classify, lm or image (only needed with --no-teacher)')
    .option('--student <spec>', 'student preset or spec (default: student-tiny, student-lm-tiny or student-image by task)')
    .option('--alpha <x>', 'weight of the soft loss (1 - alpha on hard labels)', num('--alpha', 1), 0.5)
    .option('--temperature <x>', 'softmax temperature of teacher and student (default: 1 for text classifiers, 2 for images and language models)', num('--temperature'))
    .option('--top-k <n>', 'top-k soft labels for language models', int('--top-k'), 32)
    .addOption(new Option('--soft-labels <kind>', 'language models: the teacher\'s top k tokens plus the tail, or k tokens sampled from it').choices(['topk', 'sample']).default('topk'))
    .option('--vocab-prune', 'text: keep only the teacher\'s tokens that occur in the training split (a smaller embedding and head)')
    .option('--offline', 'train from the soft-label cache alone')
    .option('--no-teacher', 'the baseline: the same student on hard labels only (with --teacher: its tokenizer and labels)')
    .option('--teacher-id <sha256>', 'with --offline: which cached teacher')
    .option('--cache <dir>', 'soft-label cache directory (default ~/.cache/minnow/soft-labels)')
    .option('--prefetch <n>', 'batches of soft labels requested ahead', int('--prefetch'), 8)
    .option('--unlabeled <name|path>', 'examples without labels, trained on soft labels alone (repeatable): a data set name or a .jsonl/.csv/.txt/IDX path', (v: string, all: string[] = []) => [...all, v])
    .option('--baseline <report.json>', 'report of the --no-teacher run, for kd_gain_vs_baseline');
  command.on('option:no-teacher', () => { baselineOnly = true; });
  addRunOptions(command).action(async (o) => {
    const noTeacher = baselineOnly;
    const teachers = urls;
    if (!noTeacher && !o.offline && !o.resume && teachers.length === 0) throw new UsageError('give --teacher ws://HOST:PORT (or --offline, or --no-teacher for the baseline)');
    if (o.unlabeled && noTeacher) throw new UsageError('--unlabeled examples learn from the teacher\'s soft labels; drop --no-teacher');
    if (o.augment && o.offline) throw new UsageError('--augment needs the teacher for every new view of an example; it cannot run --offline');
    const token = o.tokenFile ? readToken(o.tokenFile) : undefined;
    const ca = o.ca ? readPem(o.ca, '--ca') : undefined;
    const baseline = o.baseline ? JSON.parse(readFileSync(o.baseline, 'utf8')) : undefined;
    const { signal, done } = interruptible();
    const report = await distill({
      ...runOptionsOf(o), teachers, token, ca, task: o.task, student: o.student, alpha: o.alpha, temperature: o.temperature, topK: o.topK, sample: o.softLabels === 'sample',
      vocabPrune: o.vocabPrune, offline: o.offline, noTeacher, unlabeled: o.unlabeled, teacherId: o.teacherId, cacheDir: o.cache, prefetch: o.prefetch, baseline,
      onEvent: trainProgress(), signal,
    });
    done();
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (report.interrupted) process.exitCode = 130;
  });
}
