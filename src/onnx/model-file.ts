// Model files on disk, read and decoded in one step for the commands that take a model path (eval,
// inspect, --init-from, the teacher). The runtime reads files its own way (runtime/model-file.ts).
import { readFileSync, statSync } from 'node:fs';
import { decodeModel } from './codec.js';
import type { Graph } from './graph.js';

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

/** A model.onnx, or the model.onnx in a run directory: its bytes and its graph. */
export function readOnnxFile(file: string): { bytes: Uint8Array; graph: Graph } {
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory()) file = `${file}/model.onnx`;
    bytes = readFileSync(file);
  } catch {
    throw new ModelFileError(`model file '${file}' not found`);
  }
  return { bytes, graph: decodeOnnx(bytes, file) };
}
