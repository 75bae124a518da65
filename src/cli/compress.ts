// `minnow compress`: a thin shell over src/compress.
import { Command, InvalidArgumentError, Option } from 'commander';
import { compressModel, type CompressOptions } from '../compress/compress.js';
import { parseStructuredTargets } from '../compress/prune/structured.js';
import { sensitivityScan, type SensitivityRow } from '../compress/sensitivity.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { evaluateModel } from '../train/evaluate.js';
import { ModelFileError, readOnnxFile } from '../onnx/model-file.js';
import { int, finetunable } from './options.js';
import { UsageError } from './errors.js';
import { FinetunableError } from '../compress/finetunable.js';
import { withFinetuneStep } from '../train/finetune-step.js';

export function addCompressCommand(program: Command): void {
  program.command('compress')
    .description('prune and/or quantize a model into one smaller ONNX file')
    .argument('<model>', 'model.onnx')
    .option('--structured <widths>', 'shrink the architecture, e.g. heads=1,ffn=128,dim=48,layers=2 (Transformer) or channels=8-12,hidden=24 (CNN); then recover with distill/train --init-from', (v) => {
      try { return parseStructuredTargets(v); } catch (err) { throw new InvalidArgumentError((err as Error).message); }
    })
    .option('--prune <sparsity>', 'zero this fraction of the MatMul/Conv weights by magnitude (0-1)', (v) => {
      const n = Number(v);
      if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('--prune must be a fraction in [0, 1)');
      return n;
    })
    .addOption(new Option('--quantize <kind>', 'int8: weights per channel, activations at run time; int4: weight-only MatMulNBits and int4 embedding tables').choices(['int8', 'int4']))
    .option('--block-size <n>', 'int4 block size: 16, 32, 64 or 128', (v) => {
      const n = Number(v);
      if (![16, 32, 64, 128].includes(n)) throw new InvalidArgumentError('--block-size must be 16, 32, 64 or 128');
      return n;
    }, 32)
    .option('--zero-points', 'int4: per-block zero points instead of symmetric codes')
    .option('--accuracy-level <n>', 'int4: MatMulNBits accuracy_level (0-4)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 4) throw new InvalidArgumentError('--accuracy-level must be 0-4');
      return n;
    }, 0)
    .option('--keep <which>', 'weights kept at higher precision (float32 under int8; see --kept-precision under int4): last, first,last, none, or scan:N (the N most sensitive on --data\'s validation split)', (v) => {
      if (!['last', 'first,last', 'none'].includes(v) && !/^scan:\d+$/.test(v)) throw new InvalidArgumentError('--keep must be last, first,last, none or scan:N');
      return v;
    }, 'last')
    .option('--data <name|path>', 'with --keep scan:N: the data set whose validation split measures sensitivity')
    .option('--limit <n>', 'with --keep scan:N: use at most N examples per split', int('--limit'))
    .addOption(new Option('--kept-precision <p>', 'int4: what kept matrices become').choices(['int8', 'float32']).default('int8'))
    .option('--finetunable <part>', 'carry the training step of head, last:N (Transformer blocks) or all, kept float32, for model.finetune() on the device', finetunable)
    .requiredOption('--out <file>', 'compressed model.onnx to write')
    .option('--no-verify', 'compress without checking the weights against the sha256 the file records')
    .action(async (model: string, o) => {
      if (!o.structured && o.prune === undefined && !o.quantize && !o.finetunable) throw new UsageError('nothing to do: give --structured, --prune, --quantize and/or --finetunable');
      const input = readOnnxFile(model, { verify: o.verify }).bytes;
      const scan = /^scan:(\d+)$/.exec(o.keep);
      if (scan && !o.quantize) throw new UsageError('--keep scan:N ranks weights for quantization: give --quantize');
      if (scan && !o.data) throw new UsageError('--keep scan:N needs --data to measure on (its validation split)');
      const quantize: CompressOptions = { quantize: o.quantize, blockSize: o.blockSize, zeroPoints: o.zeroPoints, accuracyLevel: o.accuracyLevel, keptPrecision: o.keptPrecision, finetunable: o.finetunable };
      let result;
      let sensitivity: SensitivityRow[] | undefined;
      try {
        if (scan) {
          // Prune first (if asked), then rank the pruned model's weights and quantize it.
          const first = o.structured || o.prune !== undefined ? compressModel(input, { structured: o.structured, prune: o.prune, finetunable: o.finetunable }) : undefined;
          const pruned = first?.bytes ?? input;
          const loss = async (bytes: Uint8Array) => (await evaluateModel(bytes, { data: o.data, split: 'validation', dataOptions: { limit: o.limit } }, model)).loss!;
          const ranked = await sensitivityScan(pruned, { ...quantize, loss, onProgress: (done, total) => process.stderr.write(`\rsensitivity scan: ${done}/${total} weights`) });
          process.stderr.write('\n');
          sensitivity = ranked.rows;
          result = compressModel(pruned, { ...quantize, finetunable: first?.finetunable ?? o.finetunable, keep: ranked.rows.slice(0, Number(scan[1])).map((r) => r.weight) });
        } else {
          result = compressModel(input, { ...quantize, structured: o.structured, prune: o.prune, keep: o.keep });
        }
        if (result.finetunable) result = { ...result, bytes: withFinetuneStep(result.bytes, result.finetunable) };
      } catch (err) {
        if (err instanceof ModelFileError || err instanceof FinetunableError) throw err;
        throw new ModelFileError(`${model}: ${(err as Error).message}`);
      }
      if (result.report.unknown_ops.length) {
        process.stderr.write(`warning: ops minnow does not know were passed through unchanged: ${result.report.unknown_ops.join(', ')}\n`);
      }
      await writeFileAtomic(o.out, result.bytes);
      const ratio = Number((result.bytes.length / input.length).toFixed(4));
      process.stdout.write(JSON.stringify({ out: o.out, ...result.report, size_before: input.length, ratio, ...(sensitivity ? { sensitivity } : {}) }, null, 2) + '\n');
    });
}
