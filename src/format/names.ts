// The names of a model file's inputs and outputs (docs/model-format.md), including the KV cache of
// decoder.onnx: the graph builders name values with these, and the runtime and the teacher find
// them by these.

export const INPUT = {
  /** int64 [batch, seq] token ids (text tasks). */
  ids: 'input_ids',
  /** int64 [batch, seq], 1 for a token and 0 for padding (classifiers of text). */
  mask: 'attention_mask',
  /** int64 [batch, seq], the segment of each token (BERT-style models exported elsewhere). */
  tokenTypes: 'token_type_ids',
  /** int64 [batch, seq], each token's position (GPT-style models exported elsewhere). */
  positions: 'position_ids',
  /** float32 [batch, c, h, w], preprocessed (image task). */
  pixels: 'pixels',
} as const;

export const OUTPUT = {
  /** [batch, classes], or [batch, seq, vocab] for language models. */
  logits: 'logits',
  /** [batch, features]: what the classifier head reads, for model.embed(). */
  embeddings: 'embeddings',
} as const;

/** Layer i's cached keys and values fed back in ([batch, heads, past, head_dim]) and handed out. */
export const pastKeyName = (i: number) => `past_key_values.${i}.key`;
export const pastValueName = (i: number) => `past_key_values.${i}.value`;
export const presentKeyName = (i: number) => `present.${i}.key`;
export const presentValueName = (i: number) => `present.${i}.value`;

/** How many layers' caches a decoder takes (0 for a model without a KV cache). */
export function cachedLayers(inputs: readonly string[]): number {
  let layers = 0;
  while (inputs.includes(pastKeyName(layers))) layers++;
  return layers;
}
