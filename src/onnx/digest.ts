// The weights digest of a graph in memory (src/format/digest.ts defines it).
import { META } from '../format/metadata.js';
import { weightsDigest } from '../format/digest.js';
import { sha256 } from '../util/sha256.js';
import type { Graph } from './graph.js';

export function graphWeightsDigest(g: Graph): string {
  return weightsDigest([...g.initializers].map(([name, t]) => ({ name, dims: t.dims, bytes: t.bytes() })), sha256);
}

/** Records the digest of the graph's current weights in its metadata, for the runtime to check. */
export function stampWeightsDigest(g: Graph): void {
  g.metadata.set(META.weightsSha256, graphWeightsDigest(g));
}
