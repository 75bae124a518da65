// What a model file says about itself: the metadata_props keys minnow writes and reads, and the
// shapes of their values (docs/model-format.md). Training, compression, the teacher, the student and
// the runtime all take the keys from here, so the trainer and the phone cannot drift apart.

export const META = {
  version: 'minnow.format_version',
  task: 'minnow.task',
  /** The model spec the file was built from (a kind and its widths, see src/nn/kinds). */
  model: 'minnow.model',
  labels: 'minnow.labels',
  tokenizer: 'minnow.tokenizer',
  /** The tokenizer.json gzipped and base64-encoded, in place of minnow.tokenizer (compressed models). */
  tokenizerGz: 'minnow.tokenizer.gz',
  preprocessing: 'minnow.preprocessing',
  metrics: 'minnow.metrics',
  provenance: 'minnow.provenance',
  /** The recipe of `minnow compress`. */
  compression: 'minnow.compression',
  weightsSha256: 'minnow.weights_sha256',
} as const;

export const FORMAT_VERSION = '1';

/** What a model does: label text, predict the next token, label images. */
export type Task = 'classify' | 'lm' | 'image';
export const TASKS: readonly Task[] = ['classify', 'lm', 'image'];

export interface TextPreprocessing { kind: 'text'; max_length: number; pad_id: number; truncation: 'right' }
/** Pixels reach the model as (raw * scale - mean) / std. */
export interface ImagePreprocessing { kind: 'image'; shape: [number, number, number]; scale: number; mean: number; std: number }
export type Preprocessing = TextPreprocessing | ImagePreprocessing;

/** metadata_props as the trainer holds them (a Map) or as the runtime reads them (a plain object). */
export type Metadata = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

export function metaValue(metadata: Metadata, key: string): string | undefined {
  return metadata instanceof Map ? metadata.get(key) : (metadata as Record<string, string>)[key];
}

function json<T>(metadata: Metadata, key: string): T | undefined {
  const value = metaValue(metadata, key);
  return value === undefined ? undefined : (JSON.parse(value) as T);
}

export const labelsOf = (metadata: Metadata) => json<string[]>(metadata, META.labels);
export const preprocessingOf = (metadata: Metadata) => json<Preprocessing>(metadata, META.preprocessing);
