// `minnow teacher label`: fills the soft-label cache for a data set with every replica of a teacher,
// for `minnow distill --offline` (docs/cli-teacher.md).
import { Command, Option } from 'commander';
import { label } from '../../student/label.js';
import { fraction, int, num, readPem, readToken } from './options.js';
import { UsageError } from './errors.js';

export function addLabelCommand(command: Command): void {
  const urls: string[] = [];
  command
    .description('put a data set\'s soft labels in the cache with every replica of a teacher, for distill --offline')
    .option('--teacher <url>', 'ws:// or wss:// URL of a replica (repeat: all are used at once)', (v: string) => { urls.push(v); return urls; })
    .option('--token-file <file>', 'bearer token for the teacher (first line)')
    .option('--ca <file>', 'PEM certificate of the CA that signed the wss:// teachers\' certificates')
    .requiredOption('--data <name|path>', 'the data set the student will train on')
    .option('--unlabeled <name|path>', 'examples without labels, as for distill (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .option('--student <spec>', 'the student the labels are for: its context cuts the examples (default: the distill default)')
    .option('--temperature <x>', 'as for distill (default by task)', num('--temperature'))
    .option('--top-k <n>', 'top-k soft labels for language models', int('--top-k'), 32)
    .addOption(new Option('--soft-labels <kind>', 'language models: top k or k sampled tokens').choices(['topk', 'sample']).default('topk'))
    .option('--vocab-prune', 'read text as a --vocab-prune student will')
    .option('--cache <dir>', 'soft-label cache directory (default ~/.cache/minnow/soft-labels)')
    .option('--prefetch <n>', 'batches requested ahead (raise it for many replicas)', int('--prefetch'), 16)
    .option('--batch <n>', 'examples per request', int('--batch'), 32)
    .option('--limit <n>', 'use at most N examples per split', int('--limit'))
    .option('--labels-fraction <f>', 'as for distill, with --unlabeled of the same data', fraction('--labels-fraction'))
    .option('--keep-headers', 'keep mail headers in the spam data set')
    .action(async (o) => {
      if (urls.length === 0) throw new UsageError('give --teacher ws://HOST:PORT (repeat it for each replica)');
      let last = -1;
      const report = await label({
        teachers: urls, token: o.tokenFile ? readToken(o.tokenFile) : undefined, ca: o.ca ? readPem(o.ca, '--ca') : undefined,
        data: o.data, unlabeled: o.unlabeled, student: o.student, temperature: o.temperature, topK: o.topK, sample: o.softLabels === 'sample',
        vocabPrune: o.vocabPrune, cacheDir: o.cache, prefetch: o.prefetch, batch: o.batch,
        dataOptions: { limit: o.limit, labelsFraction: o.labelsFraction, keepHeaders: o.keepHeaders },
        onLog: (m) => process.stderr.write(m + '\n'),
        onProgress: (done, total) => {
          const decile = Math.floor((10 * done) / total);
          if (decile !== last) { last = decile; process.stderr.write(`labelled ${done}/${total} examples\n`); }
        },
      });
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    });
}
