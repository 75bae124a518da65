// Model files on disk, read and decoded in one step for the commands that take a model path (eval,
// inspect, --init-from, the teacher). The runtime reads files its own way (runtime/model-file.ts).
import { readFileSync, statSync } from 'node:fs';
import { decodeModel } from './codec.js';
import type { Graph } from './graph.js';
import { graphWeightsDigest } from './digest.js';
import { META } from '../format/metadata.js';

/** A model file that is missing, unreadable or not what the command needs (exit code 2). */
export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

/** Decodes model bytes; `name` says where they came from in the error. */
export function decodeOnnx(bytes: Uint8Array, name: string): Graph {
  try {
    return decodeModel(bytes).graph;
  } catch (err) {
    throw new ModelFileError(`${name}: ${(err as Error).message}`);
  }
}

/**
 * Checks a graph's weights against the digest its file records (minnow.weights_sha256), as the
 * runtime does: a file with flipped bytes would otherwise serve, evaluate and compress as if sound.
 * Files without a digest (exported by other tools) pass.
 */
export function verifyWeights(graph: Graph, name: string): void {
  const expected = graph.metadata.get(META.weightsSha256);
  if (!expected) return;
  const actual = graphWeightsDigest(graph);
  if (actual !== expected) {
    throw new ModelFileError(`${name}: the model's weights do not match their sha256 (expected ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…): the file is corrupt or was changed; pass --no-verify to load it anyway`);
  }
}

export interface ReadOptions {
  /** Check the weights against minnow.weights_sha256 (default true). */
  verify?: boolean;
}

/** A model.onnx, or the model.onnx in a run directory: its bytes and its graph, its weights verified. */
export function readOnnxFile(file: string, options: ReadOptions = {}): { bytes: Uint8Array; graph: Graph } {
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory()) file = `${file}/model.onnx`;
    bytes = readFileSync(file);
  } catch {
    throw new ModelFileError(`model file '${file}' not found`);
  }
  const graph = decodeOnnx(bytes, file);
  if (options.verify ?? true) verifyWeights(graph, file);
  return { bytes, graph };
}
