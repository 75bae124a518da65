// `minnow compress`: a thin shell over src/compress.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { compressModel } from '../compress/compress.js';
import { parseStructuredTargets } from '../compress/prune/structured.js';
import { writeFileAtomic } from '../train/checkpoint.js';
import { ModelFileError } from '../train/evaluate.js';
import { UsageError } from './errors.js';

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
    .addOption(new Option('--keep <which>', 'weight matrices kept at higher precision (float32 under int8; see --kept-precision under int4)').choices(['last', 'first,last', 'none']).default('last'))
    .addOption(new Option('--kept-precision <p>', 'int4: what kept matrices become').choices(['int8', 'float32']).default('int8'))
    .requiredOption('--out <file>', 'compressed model.onnx to write')
    .action(async (model: string, o) => {
      if (!o.structured && o.prune === undefined && !o.quantize) throw new UsageError('nothing to do: give --structured, --prune and/or --quantize');
      let input: Uint8Array;
      try { input = readFileSync(model); } catch { throw new ModelFileError(`model file '${model}' not found`); }
      let result;
      try {
        result = compressModel(input, { structured: o.structured, prune: o.prune, quantize: o.quantize, blockSize: o.blockSize, zeroPoints: o.zeroPoints, accuracyLevel: o.accuracyLevel, keep: o.keep, keptPrecision: o.keptPrecision });
      } catch (err) {
        throw new ModelFileError(`${model}: ${(err as Error).message}`);
      }
      if (result.report.unknown_ops.length) {
        process.stderr.write(`warning: ops the quantizer does not know were passed through unchanged: ${result.report.unknown_ops.join(', ')}\n`);
      }
      await writeFileAtomic(o.out, result.bytes);
      process.stdout.write(JSON.stringify({ out: o.out, ...result.report, ratio: Number((result.report.size_after / result.report.size_before).toFixed(4)) }, null, 2) + '\n');
    });
}
