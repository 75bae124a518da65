// A model kind (transformer, vit, mlp, cnn) in one module: the keys of its spec and their defaults,
// the tasks it serves, how it builds its graph and how structured pruning shrinks it. kinds/index.ts
// looks them up by name; a name it does not know is an error everywhere.
import type { Task } from '../../format/metadata.js';
import type { BuiltModel, ModelShape } from '../models.js';
import type { Scope } from '../scope.js';
import type { PrunePlan, StructuredTargets, WeightReader } from './prune.js';
import type { SpecEntries } from './spec-values.js';

export interface BuildContext {
  /** A language model with a KV cache (decoder.onnx): past keys/values in, presents out. */
  cache?: boolean;
}

export interface ModelKind<C> {
  name: string;
  /** Spec keys, in the order formatSpec writes them. */
  keys: readonly string[];
  tasks: readonly Task[];
  /** The architecture a spec's values describe (defaults for absent keys). */
  parse(entries: SpecEntries, spec: string): C;
  /** The spec's key=value parts, so that parse(format(c)) gives c back. */
  format(config: C): string[];
  build(s: Scope, config: C, shape: ModelShape, context: BuildContext): BuiltModel;
  /** Which units structured pruning keeps, and where each parameter of the smaller model comes from. */
  planPruning(config: C, targets: StructuredTargets, weight: WeightReader): PrunePlan<C>;
}

/** A required part of the model's shape, or an error naming it. */
export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the model needs ${what}`);
  return value;
}
