// Errors that are the user's to fix: the CLI prints their message on one line and exits 2.
import { DataError } from '../data/datasets.js';
import { SpecError } from '../nn/spec.js';
import { DeviceError } from '../onnx/runtime.js';
import { ModelFileError } from '../onnx/model-file.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

const USER_ERRORS = [UsageError, DataError, SpecError, DeviceError, ModelFileError];

export function isUserError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (USER_ERRORS.some((E) => err instanceof E)) return true;
  // commander's own errors (unknown option, missing argument) and missing checkpoints.
  return (err as { code?: string }).code?.startsWith('commander.') === true || /^no checkpoint at /.test(err.message);
}
