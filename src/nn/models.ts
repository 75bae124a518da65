// Whole models, built by their kind (src/nn/kinds): a forward graph whose inputs and outputs carry
// the names of the model format (src/format/names.ts).
import { Graph, type Dim } from '../onnx/graph.js';
import type { DType } from '../onnx/tensor.js';
import { Rng } from '../format/rng.js';
import type { Task } from '../format/metadata.js';
import { Scope } from './scope.js';
import { modelKind, type ArchConfig, type BuildContext } from './kinds/index.js';

export type { Task };
export type { ArchConfig, TransformerConfig, VitConfig, MlpConfig, CnnConfig } from './kinds/index.js';

export interface ModelShape {
  task: Task;
  /** Token vocabulary (text tasks). */
  vocabSize?: number;
  /** Number of labels (classify/image). */
  numClasses?: number;
  /** [channels, height, width] (image task). */
  imageShape?: [number, number, number];
}

export interface BuildOptions extends BuildContext {
  seed: number;
  training?: boolean;
  dtype?: DType;
}

export interface ModelInput { name: string; dtype: DType; shape: Dim[] }

export interface BuiltModel {
  graph: Graph;
  inputs: ModelInput[];
  /** [batch, classes] or, for language models, [batch, seq, vocab]. */
  logits: string;
}

/** How many tokens a text model reads at most (undefined for models of images). */
export function textContext(arch: ArchConfig): number | undefined {
  return 'ctx' in arch ? arch.ctx : undefined;
}

export function buildModel(arch: ArchConfig, shape: ModelShape, options: BuildOptions): BuiltModel {
  const g = new Graph('minnow');
  const s = new Scope(g, new Rng(options.seed), '', options.dtype ?? 'float32', options.training ?? false);
  return modelKind(arch.kind).build(s, arch, shape, { cache: options.cache });
}
