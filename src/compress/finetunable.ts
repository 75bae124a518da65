// Which weights a model fine-tuned on the device trains (`--finetunable head|last:N|all`). They stay
// float32 when the rest is quantized; src/train/finetune-step.ts builds their training step.
import type { Graph } from '../onnx/graph.js';
import { FINETUNE_META, isFinetuneFeature, type FinetuneSpec } from '../format/finetune.js';

/** The head alone, the last N Transformer blocks with the final LayerNorm and the head, or every weight. */
export type FinetunePart = 'head' | 'all' | { last: number };

export class FinetunableError extends Error {
  override name = 'FinetunableError';
}

export function parseFinetunePart(value: string): FinetunePart {
  if (value === 'head' || value === 'all') return value;
  const m = /^last:(\d+)$/.exec(value);
  if (m && Number(m[1]) >= 1) return { last: Number(m[1]) };
  throw new FinetunableError(`--finetunable must be head, last:N (N >= 1) or all, got '${value}'`);
}

export const partName = (part: FinetunePart) => (typeof part === 'string' ? part : `last:${part.last}`);

const blockOf = (name: string) => /^layers\.(\d+)\./.exec(name)?.[1];

/** The initializers `part` trains, in graph order. Throws where the model has no such part. */
export function trainableWeights(g: Graph, part: FinetunePart): string[] {
  return weightsOfPart([...g.initializers.keys()], part, (n) => g.params.has(n));
}

/**
 * The weights of `names` that `part` trains (all: those `trainable` says); a trainer checks its
 * parameters with it before a run, so that a part the model lacks fails at once, not at export.
 */
export function weightsOfPart(names: string[], part: FinetunePart, trainable: (name: string) => boolean = () => true): string[] {
  if (!names.includes('head.weight')) throw new FinetunableError('--finetunable needs a classifier (a model with head.weight); language models are not fine-tuned on the device');
  if (part === 'head') return names.filter((n) => n.startsWith('head.'));
  if (part === 'all') return names.filter(trainable);
  const blocks = [...new Set(names.map(blockOf).filter((b) => b !== undefined).map(Number))].sort((a, b) => a - b);
  if (blocks.length === 0) throw new FinetunableError(`--finetunable last:${part.last} needs a Transformer (weights named layers.N.*); this model has none: use head or all`);
  if (part.last > blocks.length) throw new FinetunableError(`--finetunable last:${part.last}: the model has ${blocks.length} Transformer block(s)`);
  const first = blocks[blocks.length - part.last]!;
  return names.filter((n) => n.startsWith('head.') || n.startsWith('ln_f.') || Number(blockOf(n) ?? -1) >= first);
}

/**
 * Takes a carried training step out of `g` (its metadata and the feature outputs it reads) and says
 * which part it trained: a step built before a rewrite would not fit the rewritten weights.
 */
export function dropFinetuneStep(g: Graph): FinetunePart | undefined {
  const json = g.metadata.get(FINETUNE_META.spec);
  g.metadata.delete(FINETUNE_META.spec);
  g.metadata.delete(FINETUNE_META.graph);
  const features = new Set(g.outputs.filter(isFinetuneFeature));
  for (let i = g.outputs.length - 1; i >= 0; i--) if (features.has(g.outputs[i]!)) g.outputs.splice(i, 1);
  for (let i = g.nodes.length - 1; i >= 0; i--) if (g.nodes[i]!.outputs.every((x) => features.has(x))) g.nodes.splice(i, 1);
  return json ? parseFinetunePart((JSON.parse(json) as FinetuneSpec).part) : undefined;
}
