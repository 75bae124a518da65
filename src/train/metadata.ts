// What a model file says about itself: metadata_props keys minnow writes and reads.
import { createHash } from 'node:crypto';
import type { Graph } from '../onnx/graph.js';

export const META = {
  task: 'minnow.task',
  labels: 'minnow.labels',
  tokenizer: 'minnow.tokenizer',
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
