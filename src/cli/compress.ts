// `minnow compress`: a thin shell over src/compress.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { compressModel } from '../compress/compress.js';
import { writeFileAtomic } from '../train/checkpoint.js';
import { ModelFileError } from '../train/evaluate.js';

export function addCompressCommand(program: Command): void {
  program.command('compress')
    .description('quantize a model to int8 or int4 into one smaller ONNX file')
    .argument('<model>', 'model.onnx')
    .addOption(new Option('--quantize <kind>', 'int8: weights per channel, activations at run time; int4: weight-only MatMulNBits').choices(['int8', 'int4']).makeOptionMandatory())
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
    .addOption(new Option('--keep <which>', 'weight matrices kept in float32').choices(['last', 'first,last', 'none']).default('last'))
    .requiredOption('--out <file>', 'compressed model.onnx to write')
    .action(async (model: string, o) => {
      let input: Uint8Array;
      try { input = readFileSync(model); } catch { throw new ModelFileError(`model file '${model}' not found`); }
      let result;
      try {
        result = compressModel(input, { quantize: o.quantize, blockSize: o.blockSize, zeroPoints: o.zeroPoints, accuracyLevel: o.accuracyLevel, keep: o.keep });
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
