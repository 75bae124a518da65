// decoder.onnx: a trained language model's weights in its KV-cache form (the transformer kind built
// with a cache: new tokens and each layer's past keys/values in, logits and presents out). Parameter
// names are the same, so the trained weights drop in. The first call passes pasts of length 0.
import type { Graph } from '../onnx/graph.js';
import { buildModel, type ArchConfig } from './models.js';

/** The decoder graph carrying a trained LM's weights (same parameter names) and metadata. */
export function decoderFromTrained(trained: Graph, arch: ArchConfig, vocab: number): Graph {
  const dec = buildModel(arch, { task: 'lm', vocabSize: vocab }, { seed: 0, cache: true }).graph;
  for (const name of [...dec.initializers.keys()]) {
    const w = trained.initializers.get(name);
    if (!w) throw new Error(`the trained model has no parameter '${name}' for the decoder`);
    dec.initializers.set(name, w);
    dec.constants.set(name, w);
  }
  for (const [k, v] of trained.metadata) dec.metadata.set(k, v);
  return dec;
}
