// `minnow compress` as a library call: a model file in, a smaller model file out, with its
// metadata kept and the recipe and a new weight digest added. Steps run in the order that keeps
// each one meaningful: structured pruning (needs float weights), magnitude pruning, quantization.
import { decodeModel, encodeModel } from '../onnx/codec.js';
import type { Graph } from '../onnx/graph.js';
import { META } from '../format/metadata.js';
import { gzipSync } from 'node:zlib';
import { gzipTokenizer } from '../format/tokenizer.js';
import { stampWeightsDigest } from '../onnx/digest.js';
import { quantizeGraph, type SchemeName } from './quantize/schemes.js';
import { keptWeights, type KeepRule } from './quantize/scheme.js';
import { pruneMagnitude } from './prune/magnitude.js';
import { pruneStructured, type StructuredReport, type StructuredTargets } from './prune/structured.js';
import { opDef } from '../onnx/ops/index.js';
import { FinetunableError, dropFinetuneStep, partName, trainableWeights, type FinetunePart } from './finetunable.js';

export interface CompressOptions {
  /** Shrink the architecture: fewer layers, heads, FFN neurons, channels (prune/structured.ts). */
  structured?: StructuredTargets;
  /** One-shot global magnitude pruning of MatMul/Conv weights to this sparsity. */
  prune?: number;
  quantize?: SchemeName;
  /** int4 block size (16, 32, 64, 128). */
  blockSize?: number;
  /** int4: per-block zero points instead of symmetric codes. */
  zeroPoints?: boolean;
  accuracyLevel?: number;
  /**
   * Which weights stay at higher precision: the last matrix (the head, default), the first and
   * last, none, or a list of weight names (e.g. from sensitivityScan).
   */
  keep?: KeepRule;
  /** Under int4, what the kept matrices become: int8 weight-only (default) or float32. Under int8 they stay float32. */
  keptPrecision?: 'int8' | 'float32';
  /**
   * Weights to keep float32 for fine-tuning on the device (default: the part whose training step the
   * input carries). The step itself is added by src/train/finetune-step.ts to the result.
   */
  finetunable?: FinetunePart;
}

export interface CompressReport {
  quantized: string[];
  kept: string[];
  unknown_ops: string[];
  size_before: number;
  size_after: number;
  structured?: StructuredReport;
  /** Fraction of prunable weights that are zero after --prune. */
  sparsity?: number;
}

export interface CompressResult {
  bytes: Uint8Array;
  report: CompressReport;
  /** The part whose training step the result should carry (withFinetuneStep): asked for, or carried by the input. */
  finetunable?: FinetunePart;
}

export function compressModel(input: Uint8Array, options: CompressOptions): CompressResult {
  if (!options.structured && options.prune === undefined && !options.quantize && !options.finetunable) throw new Error('nothing to do: give --structured, --prune, --quantize and/or --finetunable');
  let { graph } = decodeModel(input);
  const carried = dropFinetuneStep(graph);
  const finetunable = options.finetunable ?? carried;
  const recipe: Record<string, unknown> = {};
  let structured: StructuredReport | undefined;
  if (options.structured) {
    ({ graph, report: structured } = pruneStructured(graph, options.structured));
    recipe.structured = { ...options.structured, spec_before: structured.spec_before, spec_after: structured.spec_after };
  }
  let sparsity: number | undefined;
  if (options.prune !== undefined) {
    sparsity = pruneMagnitude(graph, options.prune).sparsity;
    recipe.prune = { target: options.prune, sparsity };
  }
  // Ops outside minnow's op table pass through unchanged, and the report names them.
  const unknown = [...new Set(graph.nodes.filter((n) => !opDef(n)).map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)))].sort();
  const keep = options.keep ?? 'last';
  if (finetunable === 'all' && options.quantize) throw new FinetunableError(`--finetunable all trains every weight, so none can be quantized: ${carried ? 'the input carries the training step of all its weights; give --finetunable head or last:N' : 'use head or last:N'} with --quantize`);
  const float = finetunable ? new Set(trainableWeights(graph, finetunable)) : undefined;
  const report = options.quantize
    ? quantizeGraph(graph, options.quantize, {
      keep: keptWeights(graph, keep), blockSize: options.blockSize, symmetric: !options.zeroPoints, accuracyLevel: options.accuracyLevel, keptPrecision: options.keptPrecision, float,
    })
    : { quantized: [], kept: [] };
  if (options.quantize) {
    Object.assign(recipe, {
      quantize: options.quantize, keep,
      ...(options.quantize === 'int4' ? { block_size: options.blockSize ?? 32, zero_points: Boolean(options.zeroPoints), accuracy_level: options.accuracyLevel ?? 0, kept_precision: options.keptPrecision ?? 'int8' } : {}),
      quantized: report.quantized, kept_float: report.kept,
    });
  }
  if (finetunable) recipe.finetunable = partName(finetunable);
  recipe.unknown_ops = unknown;
  gzipTokenizer(graph.metadata, (bytes) => gzipSync(bytes, { level: 9 }));
  if (graph.metadata.has(META.tokenizerGz)) recipe.tokenizer = 'gzip';
  // A file compressed twice keeps the earlier steps' recipe.
  const earlier = graph.metadata.get(META.compression);
  graph.metadata.set(META.compression, JSON.stringify(earlier ? { ...recipe, earlier: JSON.parse(earlier) } : recipe));
  stampWeightsDigest(graph);
  shortenNames(graph);
  const bytes = encodeModel(graph);
  return {
    bytes, finetunable,
    report: { ...report, unknown_ops: unknown, size_before: input.length, size_after: bytes.length, ...(structured ? { structured } : {}), ...(sparsity !== undefined ? { sparsity } : {}) },
  };
}

/**
 * Short names for nodes and intermediate values (graph inputs, outputs and initializers keep theirs):
 * the names a graph builder gives are for reading, and in a small quantized model they can be a
 * twentieth of the file.
 */
function shortenNames(g: Graph): void {
  const keep = new Set([...g.inputs, ...g.outputs, ...g.initializers.keys()]);
  const renamed = new Map<string, string>();
  g.nodes.forEach((node, i) => {
    node.name = `n${i}`;
    for (const out of node.outputs) if (out && !keep.has(out) && !renamed.has(out)) renamed.set(out, `v${renamed.size}`);
  });
  for (const node of g.nodes) {
    node.inputs = node.inputs.map((x) => renamed.get(x) ?? x);
    node.outputs = node.outputs.map((x) => renamed.get(x) ?? x);
  }
}
