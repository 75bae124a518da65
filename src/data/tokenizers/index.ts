import { BpeTokenizer } from './bpe.js';
import { CharTokenizer } from './char.js';
import type { Tokenizer, TokenizerJson } from './tokenizer.js';

export { BpeTokenizer, type BpeTrainOptions, GPT2_PATTERN, bytesToUnicode } from './bpe.js';
export { CharTokenizer } from './char.js';
export { PAD, UNK, type Tokenizer, type TokenizerJson } from './tokenizer.js';

/** Reads a tokenizer.json written by minnow (BPE or char-level WordLevel). */
export function tokenizerFromJSON(json: TokenizerJson | string): Tokenizer {
  const doc = (typeof json === 'string' ? JSON.parse(json) : json) as TokenizerJson;
  if (doc.model?.type === 'BPE') return BpeTokenizer.fromJSON(doc);
  if (doc.model?.type === 'WordLevel') return CharTokenizer.fromJSON(doc);
  throw new Error(`unsupported tokenizer.json model type '${String(doc.model?.type)}' (minnow reads BPE and WordLevel)`);
}
