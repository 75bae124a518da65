import { HfTokenizer, type TokenizerConfig } from './hf.js';
import type { Tokenizer, TokenizerJson } from './tokenizer.js';

export { trainBpe, type BpeTrainOptions } from './bpe.js';
export { trainChars } from './char.js';
export { HfTokenizer, type TokenizerConfig } from './hf.js';
export { PAD, UNK, type Tokenizer, type TokenizerJson, type TokenizerKind } from './tokenizer.js';

/**
 * Reads any Hugging Face tokenizer.json (minnow's own BPE and char vocabularies included) through
 * Hugging Face's tokenizers.js. A document that is not a tokenizer.json is refused in one line.
 */
export function tokenizerFromJSON(json: TokenizerJson | string, config?: TokenizerConfig): Tokenizer {
  let doc: TokenizerJson;
  try {
    doc = (typeof json === 'string' ? JSON.parse(json) : json) as TokenizerJson;
  } catch (err) {
    throw new Error(`the tokenizer is not JSON (${(err as Error).message}); give a Hugging Face tokenizer.json`);
  }
  if (!doc || typeof doc !== 'object' || !doc.model || !Array.isArray(doc.added_tokens)) {
    throw new Error('the tokenizer is not a Hugging Face tokenizer.json (it needs "model" and "added_tokens")');
  }
  return new HfTokenizer(doc, config);
}
