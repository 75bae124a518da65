// What a model file says about itself: metadata_props keys minnow writes and reads.
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Graph } from '../onnx/graph.js';

export const META = {
  task: 'minnow.task',
  labels: 'minnow.labels',
  tokenizer: 'minnow.tokenizer',
  /** The tokenizer.json gzipped and base64-encoded, in place of minnow.tokenizer (compressed models). */
  tokenizerGz: 'minnow.tokenizer.gz',
  preprocessing: 'minnow.preprocessing',
  metrics: 'minnow.metrics',
  model: 'minnow.model',
  provenance: 'minnow.provenance',
  weightsSha256: 'minnow.weights_sha256',
  version: 'minnow.format_version',
} as const;

export const FORMAT_VERSION = '1';

export interface TextPreprocessing { kind: 'text'; max_length: number; pad_id: number; truncation: 'right' }
export interface ImagePreprocessing { kind: 'image'; shape: [number, number, number]; scale: number; mean: number; std: number }
export type Preprocessing = TextPreprocessing | ImagePreprocessing;

/**
 * sha256 over the initializers in file order: for each, its name, dims and raw bytes. The runtime
 * recomputes it to detect corrupt or tampered weights.
 */
export function weightsDigest(graph: Graph): string {
  const h = createHash('sha256');
  for (const [name, t] of graph.initializers) {
    h.update(name);
    h.update(JSON.stringify(t.dims));
    h.update(t.bytes());
  }
  return h.digest('hex');
}

/** The tokenizer.json a model carries, stored plain or gzipped. */
export function tokenizerJsonOf(metadata: Map<string, string>): string | undefined {
  const plain = metadata.get(META.tokenizer);
  if (plain !== undefined) return plain;
  const packed = metadata.get(META.tokenizerGz);
  return packed === undefined ? undefined : gunzipSync(Buffer.from(packed, 'base64')).toString('utf8');
}

/**
 * Stores the tokenizer gzipped: a BPE vocabulary and its merges are text that shrinks about 3x,
 * and in a quantized student they can be a sixth of the file.
 */
export function gzipTokenizer(metadata: Map<string, string>): void {
  const plain = metadata.get(META.tokenizer);
  if (plain === undefined) return;
  const packed = gzipSync(Buffer.from(plain, 'utf8'), { level: 9 }).toString('base64');
  if (packed.length >= plain.length) return; // a tiny vocabulary does not shrink
  metadata.set(META.tokenizerGz, packed);
  metadata.delete(META.tokenizer);
}
