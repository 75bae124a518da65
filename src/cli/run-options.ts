// The flags of a training run, declared once for `train`, `teacher train` and `distill`: each has one
// description and one default, and means the same in all three.
import { Command, Option } from 'commander';
import type { TrainJobOptions } from '../train/job.js';
import { int, num, device, fraction, pruneSchedule, qat, finetunable } from './options.js';

/** The run options every training command takes, as the library takes them. */
export type RunOptions = Pick<TrainJobOptions, 'data' | 'epochs' | 'batch' | 'lr' | 'seed' | 'device' | 'out' | 'resume' | 'maxSteps' |
  'optimizer' | 'weightDecay' | 'labelSmoothing' | 'warmup' | 'evalEvery' | 'checkpointEvery' | 'threads' | 'dataOptions' | 'prune' |
  'qat' | 'augment' | 'initFrom' | 'verify' | 'recompute' | 'finetunable'>;

export function addRunOptions(command: Command): Command {
  return command
    .requiredOption('--data <name|path>', 'spam, moby-dick, sotu, fashion-mnist, or a .jsonl/.csv/.txt/IDX path')
    .option('--epochs <n>', 'passes over the training split', int('--epochs'), 1)
    .option('--batch <n>', 'examples per step', int('--batch'), 32)
    .option('--lr <x>', 'peak learning rate (warm-up + cosine decay)', num('--lr'), 1e-3)
    .option('--seed <n>', 'seed for initialisation and data order', (v) => Number.parseInt(v, 10), 0)
    .option('--device <device>', 'cpu, cuda or webgpu', device, 'cpu')
    .option('--resume <dir>', 'continue the run whose --out was DIR from its last checkpoint')
    .requiredOption('--out <dir>', 'where model.onnx, checkpoint/, metrics.jsonl and report.json go')
    .option('--max-steps <n>', 'stop after N steps', int('--max-steps'))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adamw', 'sgd']).default('adamw'))
    .option('--weight-decay <x>', 'decoupled weight decay', num('--weight-decay'), 0.01)
    .option('--label-smoothing <x>', 'label smoothing', num('--label-smoothing'), 0)
    .option('--warmup <n>', 'warm-up steps (at most 10% of the run)', int('--warmup'), 100)
    .option('--eval-every <n>', 'evaluate on the validation split every N steps (default: after each epoch)', int('--eval-every'))
    .option('--checkpoint-every <n>', 'write a checkpoint every N steps', int('--checkpoint-every'), 500)
    .option('--limit <n>', 'use at most N examples (characters for corpora) per split', int('--limit'))
    .option('--labels-fraction <f>', 'keep this fraction of the training labels, per class, chosen by content (the same in every run)', fraction('--labels-fraction'))
    .option('--keep-headers', 'keep mail headers in the spam data set')
    .option('--threads <n>', 'onnxruntime intra-op threads', int('--threads'))
    .option('--recompute', 'recompute each Transformer block in the backward pass instead of keeping its activations: less memory, slower steps')
    .option('--prune <sparsity>', 'magnitude-prune MatMul/Conv weights to this sparsity during training', num('--prune', 0.99))
    .option('--prune-schedule <start:end>', 'fractions of the run over which sparsity ramps up', pruneSchedule)
    .option('--qat <int4|int4:BLOCK|int8>', 'quantization-aware training: the forward pass sees the weights as minnow compress will store them (its defaults: --keep last)', qat)
    .option('--augment', 'augment training batches: images shifted up to 2 px and flipped, texts longer than ctx cut at a random window')
    .option('--finetunable <part>', 'model.onnx carries the training step of head, last:N (Transformer blocks) or all, for model.finetune() on the device', finetunable)
    .option('--init-from <model.onnx>', 'start from this model\'s weights and architecture (e.g. after minnow compress --structured)')
    .option('--no-verify', 'load --init-from without checking its weights against the sha256 it records');
}

/** What addRunOptions' flags parsed to. */
export function runOptionsOf(o: Record<string, unknown>): RunOptions {
  const flag = <T>(name: string) => o[name] as T;
  return {
    data: flag('data'), epochs: flag('epochs'), batch: flag('batch'), lr: flag('lr'), seed: flag('seed'), device: flag('device'), out: flag('out'),
    resume: flag('resume'), maxSteps: flag('maxSteps'), optimizer: flag('optimizer'), weightDecay: flag('weightDecay'),
    labelSmoothing: flag('labelSmoothing'), warmup: flag('warmup'), evalEvery: flag('evalEvery'), checkpointEvery: flag('checkpointEvery'),
    threads: flag('threads'), dataOptions: { limit: flag('limit'), keepHeaders: flag('keepHeaders'), labelsFraction: flag('labelsFraction') },
    prune: o.prune ? { sparsity: flag<number>('prune'), ...flag<object>('pruneSchedule') } : undefined,
    qat: flag('qat'), augment: flag('augment'), initFrom: flag('initFrom'), verify: flag('verify'), recompute: flag('recompute'),
    finetunable: flag('finetunable'),
  };
}

/**
 * Ctrl-C (or SIGTERM) finishes the current step and writes a checkpoint (a second one exits at
 * once). Returns the signal to hand the run, and a function that removes the handlers when it is over.
 */
export function interruptible(): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    process.stderr.write(`\n${name}: finishing the current step and writing a checkpoint (Ctrl-C again to abort)\n`);
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  const signals = ['SIGINT', 'SIGTERM'] as const;
  for (const s of signals) process.once(s, onSignal);
  return { signal: controller.signal, done: () => { for (const s of signals) process.removeListener(s, onSignal); } };
}
