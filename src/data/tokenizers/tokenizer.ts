// The tokenizer contract, and reading/writing the Hugging Face tokenizer.json layout so that other
// tools (tokenizers, transformers.js) can load what minnow trains.

export const PAD = '<pad>';
export const UNK = '<unk>';
const SPECIAL_TOKENS = [PAD, UNK] as const;

/** What a tokenizer.json's model is: minnow trains 'bpe' and 'char'; others come from Hugging Face. */
export type TokenizerKind = 'char' | 'bpe' | 'wordpiece' | 'unigram' | 'wordlevel';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  /** Token ids; with `limit`, at most that many (the first ones), reading no further than needed. */
  encode(text: string, limit?: number): number[];
  decode(ids: ArrayLike<number>): string;
  /** The tokenizer.json document. */
  toJSON(): TokenizerJson;
}

/** A Hugging Face tokenizer.json: minnow writes BPE and WordLevel ones and reads them all. */
export interface TokenizerJson {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: { type: string; vocab: Record<string, number> | [string, number][]; merges?: string[] | [string, string][]; unk_token?: string | null; [k: string]: unknown };
}

export function addedTokens(): TokenizerJson['added_tokens'] {
  return SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}
