// Wire protocol v1 between teacher and student (docs/protocol.md): every frame is one
// msgpack-encoded message with `type`, `id` and `version`. Tensors travel as typed arrays.
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;

export const ERROR_CODES = [
  'bad_frame', 'bad_request', 'unsupported_version', 'unauthorized', 'not_ready', 'busy', 'too_large',
  'batch_too_large', 'bad_input', 'shutting_down', 'internal', 'rate_limited',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const typedArray = z.custom<ArrayBufferView>((v) => ArrayBuffer.isView(v) && !(v instanceof DataView), { message: 'expected a typed array' });

export const wireTensorSchema = z.object({
  dtype: z.enum(['int64', 'int32', 'float32']),
  dims: z.array(z.number().int().nonnegative()).min(1).max(4),
  data: typedArray,
});
export type WireTensor = z.infer<typeof wireTensorSchema>;

/** Longest string id a request may carry (errors echo it). */
export const MAX_ID_LENGTH = 64;

/**
 * Temperatures a teacher answers at. Below 1e-3, logits / T leave float32's range for no logits a
 * model gives (1e-300 gave -Infinity log-probs, 5e-324 NaN); above 100 every distribution is flat.
 */
export const TEMPERATURE_RANGE = { min: 1e-3, max: 100 } as const;

const base = { id: z.union([z.number().int(), z.string().max(MAX_ID_LENGTH)]), version: z.number().int() };

export const helloSchema = z.object({ type: z.literal('hello'), ...base, token: z.string().max(4096).optional() });
export const inferSchema = z.object({
  type: z.literal('infer'),
  ...base,
  inputs: z.record(z.string(), wireTensorSchema),
  temperature: z.number().min(TEMPERATURE_RANGE.min, { message: `must be at least ${TEMPERATURE_RANGE.min}` }).max(TEMPERATURE_RANGE.max, { message: `must be at most ${TEMPERATURE_RANGE.max}` }).default(1),
  /** 0 or absent: the full distribution. */
  top_k: z.number().int().nonnegative().default(0),
  /** With top_k: top_k tokens drawn from the distribution instead of its top k (format 'sampled'). */
  sample: z.boolean().default(false),
  fp16: z.boolean().default(false),
});
export const clientMessageSchema = z.discriminatedUnion('type', [helloSchema, inferSchema]);

export type HelloMessage = z.infer<typeof helloSchema>;
export type InferMessage = z.infer<typeof inferSchema>;
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export interface InputSpec { name: string; dtype: string; shape: (number | string)[] }

export interface InfoMessage {
  type: 'info';
  id: number | string;
  version: number;
  teacher_id: string;
  task: string;
  inputs: InputSpec[];
  /** tokenizer.json as a string (text tasks). */
  tokenizer?: string;
  labels?: string[];
  /** Size of the distribution each soft label covers (classes or vocabulary). */
  vocab_size: number;
  preprocessing?: string;
  /** Parameter count of the teacher model. */
  params?: number;
  /** The teacher's own test metrics (from its metadata). */
  metrics?: unknown;
  limits: { max_batch: number; max_payload: number; max_inflight: number; max_seq?: number };
}

export interface SoftMessage {
  type: 'soft';
  id: number | string;
  version: number;
  teacher_id: string;
  temperature: number;
  format: 'full' | 'topk' | 'sampled';
  /** Leading dims of the distributions: [rows] or [rows, seq]. */
  dims: number[];
  /**
   * Log-probabilities at `temperature`: [...dims, vocab] (full) or [...dims, k] (topk); for 'sampled',
   * log(1/k) for each of k tokens drawn with replacement (a token drawn twice appears twice). fp16 bits when `fp16`.
   */
  log_probs: Float32Array | Uint16Array;
  indices?: Int32Array;
  /** Probability mass outside the top k, per distribution (0 for 'sampled'). */
  tail_mass?: Float32Array;
  fp16: boolean;
}

export interface ErrorMessage {
  type: 'error';
  id: number | string | null;
  version: number;
  code: ErrorCode;
  message: string;
}

export type ServerMessage = InfoMessage | SoftMessage | ErrorMessage;
