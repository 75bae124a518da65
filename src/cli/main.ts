#!/usr/bin/env node
// The `minnow` command: a thin shell over the library. Every subcommand parses its flags, calls one
// library function and prints its result.
import path from 'node:path';
import { int, device } from './options.js';
import { addRunOptions, interruptible, runOptionsOf } from './run-options.js';
import { Command, Option } from 'commander';
import { train } from '../train/job.js';
import { evaluateModelFile, inspectModelFile } from '../train/evaluate.js';
import { loadDataset } from '../data/datasets.js';
import { trainBpe, trainChars, tokenizerFromJSON } from '../data/tokenizers/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { packageVersion } from '../util/version.js';
import { isUserError, UsageError } from './errors.js';
import { trainProgress } from './progress.js';
import { TASKS, type Task } from '../format/metadata.js';
import { DEFAULT_MODEL, DEFAULT_TEACHER } from '../nn/spec.js';
import { addTeacherCommands } from './teacher.js';
import { addDistillCommand } from './distill.js';
import { addCompressCommand } from './compress.js';
import { addPipelineCommand } from './pipeline.js';



function addTrainCommand(command: Command, defaults: Record<Task, string>): void {
  command
    .addOption(new Option('--task <task>', 'what the model does').choices([...TASKS]).makeOptionMandatory())
    .option('--model <spec>', `preset or spec, e.g. transformer:layers=4,dim=256,heads=4,ff=1024,ctx=256 (default: ${Object.entries(defaults).map(([t, m]) => `${t} ${m}`).join(', ')})`)
    .addOption(new Option('--tokenizer <kind>', 'text tokenizer (default: char for lm, bpe otherwise)').choices(['char', 'bpe']))
    .option('--vocab-size <n>', 'BPE vocabulary size', int('--vocab-size'));
  addRunOptions(command).action(async (o) => {
    const { signal, done } = interruptible();
    const run = runOptionsOf(o);
    const report = await train({
      ...run, task: o.task as Task, model: o.initFrom ? o.model : (o.model ?? defaults[o.task as Task]), tokenizer: o.tokenizer, vocabSize: o.vocabSize,
      onEvent: trainProgress(), signal,
    });
    done();
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (report.interrupted) {
      process.stderr.write(`interrupted at step ${report.steps}; continue with: minnow train --resume ${o.out} --out ${o.out} ...\n`);
      process.exitCode = 130;
    }
  });
}

export function buildProgram(): Command {
  const program = new Command('minnow')
    .description('Big models teach small ones: train, distill, compress and ship ONNX models.')
    .version(packageVersion())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  addTrainCommand(program.command('train').description('train a model on a built-in or user data set and export it as ONNX'), DEFAULT_MODEL);

  program.command('eval')
    .description('evaluate a model file on a data set and print its metrics as JSON')
    .argument('<model>', 'model.onnx (or the --out directory of a run)')
    .requiredOption('--data <name|path>', 'data set, as for train')
    .addOption(new Option('--split <split>', 'which split').choices(['train', 'validation', 'test']).default('test'))
    .option('--device <device>', 'cpu, cuda or webgpu', device, 'cpu')
    .option('--batch <n>', 'examples per batch', int('--batch'), 64)
    .option('--limit <n>', 'use at most N examples per split', int('--limit'))
    .option('--no-verify', 'evaluate without checking the weights against the sha256 the file records')
    .action(async (model: string, o) => {
      const metrics = await evaluateModelFile(model, { data: o.data, split: o.split, device: o.device, batch: o.batch, dataOptions: { limit: o.limit }, verify: o.verify });
      process.stdout.write(JSON.stringify(metrics, null, 2) + '\n');
    });

  program.command('inspect')
    .description('print a model file\'s metadata, parameter count, size and op histogram')
    .argument('<model>', 'model.onnx')
    .option('--no-verify', 'inspect without checking the weights against the sha256 the file records')
    .action((model: string, o) => {
      process.stdout.write(JSON.stringify(inspectModelFile(model, { verify: o.verify }), null, 2) + '\n');
    });

  addTeacherCommands(program, (command) => addTrainCommand(command, DEFAULT_TEACHER));
  addDistillCommand(program);
  addCompressCommand(program);
  addPipelineCommand(program);

  const tokenizer = program.command('tokenizer').description('tokenizer tools');
  tokenizer.command('train')
    .description('train a tokenizer on a data set\'s training split and write tokenizer.json (Hugging Face layout)')
    .requiredOption('--data <name|path>', 'data set or text file')
    .addOption(new Option('--task <task>', 'how to read --data').choices([...TASKS]).default('lm'))
    .addOption(new Option('--kind <kind>', 'tokenizer kind').choices(['bpe', 'char']).default('bpe'))
    .option('--vocab-size <n>', 'BPE vocabulary size', int('--vocab-size'), 4000)
    .option('--limit <n>', 'use at most N examples (characters for corpora)', int('--limit'))
    .requiredOption('--out <file>', 'tokenizer.json to write')
    .action(async (o) => {
      const data = loadDataset(o.data, o.task as Task, { limit: o.limit });
      if (data.task === 'image') throw new UsageError('tokenizers are for text data sets');
      const corpus = data.task === 'lm' ? data.splits.train : data.splits.train.map((e) => e.text).join('\n');
      const tok = tokenizerFromJSON(o.kind === 'char' ? trainChars(corpus) : trainBpe(corpus, { vocabSize: o.vocabSize, minFrequency: 2 }));
      await writeFileAtomic(o.out, JSON.stringify(tok.toJSON()));
      process.stdout.write(JSON.stringify({ kind: tok.kind, vocab_size: tok.vocabSize, out: path.resolve(o.out) }) + '\n');
    });

  return program;
}

async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    if (code?.startsWith('commander.')) return 2; // commander has printed the message already
    if (err instanceof Error && err.name === 'Interrupted') {
      process.stderr.write(`minnow: ${err.message}; run the same command again to continue where it stopped\n`);
      return 130;
    }
    if (isUserError(err)) {
      process.stderr.write(`minnow: ${(err as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`minnow: internal error: ${(err as Error).message}\n`);
    if (process.env.MINNOW_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    else process.stderr.write('(set MINNOW_DEBUG=1 for the stack trace, and please report it)\n');
    return 1;
  }
}

const invokedDirectly = process.argv[1] && /(?:^|[\\/])(main\.[cm]?[jt]s|cli\.[cm]?js|minnow)$/.test(process.argv[1]);
if (invokedDirectly) {
  main().then((code) => { process.exitCode = code; });
}
