// `minnow compress` as a library call: a model file in, a smaller model file out, with its
// metadata kept and the recipe and a new weight digest added.
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { META, weightsDigest } from '../train/metadata.js';
import { quantizeInt8, type QuantizeReport } from './quantize-int8.js';
import { quantizeGraphInt4 } from './quantize-int4.js';
import { KNOWN_OPS, matmulSites } from './weights.js';

export const COMPRESSION_META = 'minnow.compression';

export interface CompressOptions {
  quantize: 'int8' | 'int4';
  /** int4 block size (16, 32, 64, 128). */
  blockSize?: number;
  /** int4: per-block zero points instead of symmetric codes. */
  zeroPoints?: boolean;
  accuracyLevel?: number;
  /** Which weight matrices stay float32: the last (the head, default), first and last, or none. */
  keep?: 'last' | 'first,last' | 'none';
}

export interface CompressResult {
  bytes: Uint8Array;
  report: QuantizeReport & { unknown_ops: string[]; size_before: number; size_after: number };
}

export function compressModel(input: Uint8Array, options: CompressOptions): CompressResult {
  const { graph } = decodeModel(input);
  const unknown = [...new Set(graph.nodes.filter((n) => !KNOWN_OPS.has(n.opType)).map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType)))].sort();
  const sites = matmulSites(graph);
  const keep = options.keep ?? 'last';
  const keepFloat = keep === 'none' || sites.length === 0 ? [] : keep === 'last' ? [sites.at(-1)!.weight] : [sites[0]!.weight, sites.at(-1)!.weight];
  const report = options.quantize === 'int8'
    ? quantizeInt8(graph, { keepFloat })
    : quantizeGraphInt4(graph, { blockSize: options.blockSize ?? 32, symmetric: !options.zeroPoints, accuracyLevel: options.accuracyLevel, keepFloat });
  const recipe = {
    quantize: options.quantize, keep,
    ...(options.quantize === 'int4' ? { block_size: options.blockSize ?? 32, zero_points: Boolean(options.zeroPoints), accuracy_level: options.accuracyLevel ?? 0 } : {}),
    quantized: report.quantized, kept_float: report.kept, unknown_ops: unknown,
  };
  graph.metadata.set(COMPRESSION_META, JSON.stringify(recipe));
  graph.metadata.set(META.weightsSha256, weightsDigest(graph));
  const bytes = encodeModel(graph);
  return { bytes, report: { ...report, unknown_ops: unknown, size_before: input.length, size_after: bytes.length } };
}
