// The quantization schemes by name, and the two things done with a scheme's plan: rewrite a graph
// (`minnow compress`) and train against the quantized values (--qat). A new scheme is one module
// beside int8.ts and int4.ts and a line in SCHEMES.
import type { Graph } from '../../onnx/graph.js';
import type { Tensor } from '../../onnx/tensor.js';
import { keptWeights, type KeepRule, type QuantScheme, type SchemeOptions } from './scheme.js';
import { int8 } from './int8.js';
import { int4 } from './int4.js';

export const SCHEMES = { int8, int4 } satisfies Record<string, QuantScheme>;
export type SchemeName = keyof typeof SCHEMES;

export interface QuantizeReport { quantized: string[]; kept: string[] }

/** Rewrites the graph's weights as the scheme plans them, in place. */
export function quantizeGraph(g: Graph, scheme: SchemeName, options: SchemeOptions): QuantizeReport {
  const plan = SCHEMES[scheme].plan(g, options);
  for (const p of plan) p.rewrite?.(g);
  return { quantized: plan.filter((p) => p.quantized).map((p) => p.weight), kept: plan.filter((p) => !p.quantized).map((p) => p.weight) };
}

/** Quantization-aware training: the scheme `minnow compress` will apply, with its defaults. */
export interface FakeQuantOptions {
  quantize: SchemeName;
  /** int4 block size (default 32). */
  blockSize?: number;
  /** As compress --keep: the last matrix (default), first and last, or none. */
  keep?: Exclude<KeepRule, string[]>;
  /** As compress --kept-precision under int4 (default int8). */
  keptPrecision?: 'int8' | 'float32';
}

export type FakeQuantizer = (w: Tensor) => Float32Array;

/** Weight name -> the values its stored form stands for, for the weights of a forward graph. */
export function fakeQuantPlan(g: Graph, options: FakeQuantOptions): Map<string, FakeQuantizer> {
  const plan = SCHEMES[options.quantize].plan(g, { keep: keptWeights(g, options.keep), blockSize: options.blockSize, keptPrecision: options.keptPrecision });
  return new Map(plan.flatMap((p) => (p.fake ? [[p.weight, p.fake] as const] : [])));
}
