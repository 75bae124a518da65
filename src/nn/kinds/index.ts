// The model kinds by name. A new kind is one module beside these and a line in each list below.
import type { ModelKind } from './kind.js';
import { transformer, type TransformerConfig } from './transformer.js';
import { vit, type VitConfig } from './vit.js';
import { mlp, type MlpConfig } from './mlp.js';
import { cnn, type CnnConfig } from './cnn.js';
import { SpecError } from './spec-values.js';

export type ArchConfig = TransformerConfig | VitConfig | MlpConfig | CnnConfig;

const KINDS: { [K in ArchConfig['kind']]: ModelKind<Extract<ArchConfig, { kind: K }>> } = { transformer, vit, mlp, cnn };

export const KIND_NAMES = Object.keys(KINDS) as ArchConfig['kind'][];

/** The kind named `name`, or an error listing the kinds there are. */
export function modelKind(name: string): ModelKind<ArchConfig> {
  const kind: ModelKind<ArchConfig> | undefined = (KINDS as Record<string, ModelKind<ArchConfig>>)[name];
  if (!kind) throw new SpecError(`unknown model kind '${name}': minnow builds ${KIND_NAMES.join(', ')}`);
  return kind;
}

export type { ModelKind, BuildContext } from './kind.js';
export type { TransformerConfig, VitConfig, MlpConfig, CnnConfig };
export { SpecError } from './spec-values.js';
export { StructuredPruneError, type StructuredTargets } from './prune.js';
