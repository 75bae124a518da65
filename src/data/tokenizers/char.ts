// Training a character-level tokenizer: one id per Unicode code point seen in the corpus, stored as
// a WordLevel model over a pre-tokenizer that isolates every character.
import { PAD, UNK, addedTokens, type TokenizerJson } from './tokenizer.js';

/** All distinct code points of the corpus, sorted, so the same corpus gives the same ids. */
export function trainChars(corpus: string): TokenizerJson {
  const seen = new Set<string>();
  for (const ch of corpus) seen.add(ch);
  const chars = [PAD, UNK, ...[...seen].sort()];
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(), normalizer: null,
    pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
    post_processor: null,
    decoder: { type: 'Fuse' },
    model: { type: 'WordLevel', vocab: Object.fromEntries(chars.map((c, i) => [c, i])), unk_token: UNK },
  };
}
