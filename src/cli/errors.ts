// Errors that are the user's to fix: the CLI prints their message on one line and exits 2.
import { DataError } from '../data/datasets.js';
import { SpecError } from '../nn/spec.js';
import { DeviceError } from '../onnx/runtime.js';
import { ModelFileError } from '../onnx/model-file.js';
import { FinetunableError } from '../compress/finetunable.js';
import { TeacherError } from '../../student/teacher-client.js';
import { TeacherModelError } from '../../teacher/model.js';
import { ServeError } from '../../teacher/server.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

const USER_ERRORS = [UsageError, DataError, SpecError, DeviceError, ModelFileError, FinetunableError, TeacherModelError, ServeError];
/** A teacher that cannot be reached, refuses the token, speaks another protocol, changed or answers nonsense: the user's to fix. */
const TEACHER_USER_CODES = new Set(['unreachable', 'unauthorized', 'unsupported_version', 'teacher_changed', 'bad_soft_labels', 'no_tokenizer', 'tls']);

export function isUserError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (USER_ERRORS.some((E) => err instanceof E)) return true;
  if (err instanceof TeacherError) return TEACHER_USER_CODES.has(err.code);
  // commander's own errors (unknown option, missing argument) and missing checkpoints.
  return (err as { code?: string }).code?.startsWith('commander.') === true || /^no checkpoint at /.test(err.message);
}
