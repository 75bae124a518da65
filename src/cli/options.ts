// Flag parsers shared by the subcommands: each rejects bad values with a one-line message.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './errors.js';
import { parseDevice } from '../onnx/runtime.js';
import { parseFinetunePart } from '../compress/finetunable.js';

export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

export const num = (name: string, max = Infinity) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name} must be a number in [0, ${max}]`);
  return n;
};

/** A number above 0 (a rate: 0 would refuse everything). */
export const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
  return n;
};

/** A fraction in (0, 1]: of 0 nothing would be kept. */
export const fraction = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new InvalidArgumentError(`${name} must be a fraction in (0, 1], e.g. 0.05 for 5%`);
  return n;
};

export const device = (v: string) => {
  try { return parseDevice(v); } catch (err) { throw new InvalidArgumentError((err as Error).message); }
};

/** A bearer token: the first line of a token file. */
/** A PEM file (certificate or key) named by `flag`. */
export function readPem(file: string, flag: string): string {
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch { throw new UsageError(`${flag} ${file} cannot be read`); }
  if (!text.includes('-----BEGIN ')) throw new UsageError(`${flag} ${file} is not a PEM file (no -----BEGIN line)`);
  return text;
}

export function readToken(file: string): string {
  try { return readFileSync(file, 'utf8').split('\n')[0]!.trim(); } catch { throw new UsageError(`token file '${file}' cannot be read`); }
}

/** `--prune-schedule 0.1:0.7`: fractions of the run where pruning starts and reaches its target. */
export const pruneSchedule = (v: string) => {
  const m = /^(0?\.\d+|0|1):(0?\.\d+|1)$/.exec(v);
  const start = m ? Number(m[1]) : NaN, end = m ? Number(m[2]) : NaN;
  if (!m || !(start < end)) throw new InvalidArgumentError('--prune-schedule must be START:END, fractions of the run with START < END (e.g. 0.1:0.7)');
  return { start, end };
};

/** `--qat int4`, `--qat int4:64` (block size) or `--qat int8`: quantization-aware training. */
export const qat = (v: string) => {
  const m = /^(int8|int4)(?::(16|32|64|128))?$/.exec(v);
  if (!m || (m[1] === 'int8' && m[2])) throw new InvalidArgumentError('--qat must be int8, int4 or int4:BLOCK (16, 32, 64, 128)');
  return { quantize: m[1] as 'int8' | 'int4', blockSize: m[2] ? Number(m[2]) : 32 };
};

/** `--finetunable head`, `last:N` or `all`: the part a model file carries the training step of. */
export const finetunable = (v: string) => {
  try {
    return parseFinetunePart(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
};
