// Checkpoints: parameters, optimizer state, step, RNG and data cursor in one msgpack file, written
// to a temp file and renamed so that a crash never leaves a half-written checkpoint behind.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pack, unpack } from 'msgpackr';
import { Tensor, type DType } from '../onnx/tensor.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const CHECKPOINT_VERSION = 1;
const CHECKPOINT_FILE = 'checkpoint.msgpack';

export interface DataCursor { epoch: number; index: number }

export interface Checkpoint {
  version: number;
  step: number;
  cursor: DataCursor;
  rngState: number;
  params: Map<string, Tensor>;
  optimizerState: Map<string, Tensor>;
  /** Whatever the caller needs to rebuild the run (spec, data, hyper-parameters). */
  config: Record<string, unknown>;
}

interface StoredTensor { dtype: DType; dims: number[]; bytes: Uint8Array }

const store = (m: Map<string, Tensor>) => Object.fromEntries([...m].map(([k, t]) => [k, { dtype: t.dtype, dims: t.dims, bytes: t.bytes() }]));
const load = (o: Record<string, StoredTensor>) => new Map(Object.entries(o).map(([k, t]) => [k, Tensor.fromBytes(t.dtype, t.dims, t.bytes)]));

export async function saveCheckpoint(dir: string, ckpt: Omit<Checkpoint, 'version'>): Promise<string> {
  const file = path.join(dir, CHECKPOINT_FILE);
  const payload = {
    version: CHECKPOINT_VERSION, step: ckpt.step, cursor: ckpt.cursor, rngState: ckpt.rngState,
    params: store(ckpt.params), optimizerState: store(ckpt.optimizerState), config: ckpt.config,
  };
  await writeFileAtomic(file, pack(payload));
  return file;
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const file = dir.endsWith(CHECKPOINT_FILE) ? dir : path.join(dir, CHECKPOINT_FILE);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    throw new Error(`no checkpoint at ${file}: pass the --out directory of an earlier run (it holds checkpoint/${CHECKPOINT_FILE})`);
  }
  const raw = unpack(bytes) as Record<string, unknown>;
  if (raw.version !== CHECKPOINT_VERSION) throw new Error(`checkpoint ${file} has version ${String(raw.version)}; this minnow reads version ${CHECKPOINT_VERSION}`);
  return {
    version: CHECKPOINT_VERSION,
    step: raw.step as number,
    cursor: raw.cursor as DataCursor,
    rngState: raw.rngState as number,
    params: load(raw.params as Record<string, StoredTensor>),
    optimizerState: load(raw.optimizerState as Record<string, StoredTensor>),
    config: raw.config as Record<string, unknown>,
  };
}
