// The tokenizer contract, and reading/writing the Hugging Face tokenizer.json layout so that other
// tools (tokenizers, transformers.js) can load what minnow trains.

export const PAD = '<pad>';
export const UNK = '<unk>';
const SPECIAL_TOKENS = [PAD, UNK] as const;

export interface Tokenizer {
  readonly kind: 'char' | 'bpe';
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  /** Token ids; with `limit`, at most that many (the first ones), reading no further than needed. */
  encode(text: string, limit?: number): number[];
  decode(ids: ArrayLike<number>): string;
  /** The tokenizer.json document. */
  toJSON(): TokenizerJson;
}

export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: { id: number; content: string; single_word: boolean; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }[];
  normalizer: null;
  pre_tokenizer: unknown;
  post_processor: null;
  decoder: unknown;
  model: { type: 'BPE' | 'WordLevel'; vocab: Record<string, number>; merges?: string[]; unk_token?: string | null; [k: string]: unknown };
}

export function addedTokens(): TokenizerJson['added_tokens'] {
  return SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}
