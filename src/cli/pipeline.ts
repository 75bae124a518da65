// `minnow pipeline`: a thin shell over pipeline/run.ts, with a progress bar per stage.
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import type { PipelineEvent } from '../../pipeline/index.js';
import { TASKS } from '../format/metadata.js';
import type { TrainEvent } from '../train/job.js';
import { int, device, readToken } from './options.js';
import { trainProgress } from './progress.js';
import { interruptible } from './run-options.js';

/** Stage lines, training progress (per run) and step bars, on stderr. */
function pipelineProgress(stream: NodeJS.WriteStream = process.stderr): (e: PipelineEvent) => void {
  let run = '';
  let onTrain: ((e: TrainEvent) => void) | undefined;
  let bar: cliProgress.SingleBar | undefined;
  const stopBar = () => { bar?.stop(); bar = undefined; };
  return (e) => {
    if (e.type === 'train') {
      if (e.run !== run) { run = e.run; onTrain = trainProgress(stream); stream.write(`  ${e.run}:\n`); }
      onTrain!(e.event);
    } else if (e.type === 'progress') {
      if (!stream.isTTY) return;
      bar ??= new cliProgress.SingleBar({ stream, format: `  {bar} {value}/{total} {what}`, hideCursor: true }, cliProgress.Presets.shades_classic);
      if (e.done === 0) bar.start(e.total, 0, { what: e.what });
      bar.update(e.done, { what: e.what });
    } else if (e.status === 'started') {
      stopBar();
      if (e.stage !== 'serve') stream.write(`${e.stage}...\n`);
    } else {
      stopBar();
      run = '';
      const took = e.status === 'skipped' ? 'skipped, unchanged' : `${e.seconds.toFixed(0)} s`;
      stream.write(`${e.stage.padEnd(9)} ${e.line} (${took})\n`);
    }
  };
}

export function addPipelineCommand(program: Command): void {
  program.command('pipeline')
    .description('the whole job: train a teacher, serve it, distill a student and its twin, compress, evaluate, and write report.html')
    .requiredOption('--data <name|path>', 'spam, moby-dick, sotu, fashion-mnist, or a .jsonl/.csv/.txt/IDX path')
    .addOption(new Option('--task <task>', 'what the model does (default: what the data is for)').choices([...TASKS]))
    .option('--teacher-model <file.onnx>', 'distill from this model instead of training a teacher')
    .option('--teacher <url>', 'distill from this running teacher server (ws://HOST:PORT) instead')
    .option('--token-file <file>', 'bearer token for --teacher (first line)')
    .option('--teacher-spec <spec>', 'the teacher to train (default: a preset sized for the data)')
    .option('--student <spec>', 'the student (default: a preset sized for the data)')
    .option('--quick', 'sizes that finish in minutes')
    .option('--limit <n>', 'use at most N examples (characters for corpora) per split', int('--limit'))
    .option('--seed <n>', 'seed for initialisation and data order', (v) => Number.parseInt(v, 10), 0)
    .option('--device <device>', 'cpu, cuda or webgpu', device, 'cpu')
    .option('--threads <n>', 'onnxruntime intra-op threads', int('--threads'))
    .requiredOption('--out <dir>', 'where each stage writes (DIR/<stage>/), report.html, report.json and student.onnx')
    .action(async (o) => {
      const { signal, done } = interruptible();
      const token = o.tokenFile ? readToken(o.tokenFile) : undefined;
      // Loaded here: the report's chart renderer and onnxruntime-web are heavy for every other command.
      const { runPipeline } = await import('../../pipeline/index.js');
      const report = await runPipeline({
        data: o.data, task: o.task, teacherModel: o.teacherModel, teacherUrl: o.teacher, token, teacherSpec: o.teacherSpec, student: o.student,
        quick: o.quick, out: o.out, limit: o.limit, seed: o.seed, device: o.device, threads: o.threads, signal, onEvent: pipelineProgress(),
      });
      done();
      process.stdout.write(JSON.stringify({ report: `${o.out}/report.html`, shipped: report.shipped }, null, 2) + '\n');
    });
}
