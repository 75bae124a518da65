// Character-level tokenizer: one id per Unicode code point seen in the training corpus.
// Stored as a WordLevel model over a pre-tokenizer that isolates every character.
import { PAD, UNK, addedTokens, type Tokenizer, type TokenizerJson } from './tokenizer.js';

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly padId = 0;
  readonly unkId = 1;
  private readonly ids: Map<string, number>;
  private readonly chars: string[];

  constructor(chars: string[]) {
    this.chars = [PAD, UNK, ...chars];
    this.ids = new Map(this.chars.map((c, i) => [c, i]));
  }

  /** All distinct code points of the corpus, sorted, so the same corpus gives the same ids. */
  static train(corpus: string): CharTokenizer {
    const seen = new Set<string>();
    for (const ch of corpus) seen.add(ch);
    return new CharTokenizer([...seen].sort());
  }

  get vocabSize(): number { return this.chars.length; }

  encode(text: string, limit = Infinity): number[] {
    const out: number[] = [];
    for (const ch of text) {
      if (out.length >= limit) break;
      out.push(this.ids.get(ch) ?? this.unkId);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id > this.unkId) s += this.chars[id] ?? '';
    }
    return s;
  }

  toJSON(): TokenizerJson {
    return {
      version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(), normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: { type: 'WordLevel', vocab: Object.fromEntries(this.ids), unk_token: UNK },
    };
  }

  static fromJSON(json: TokenizerJson): CharTokenizer {
    const entries = Object.entries(json.model.vocab).sort((a, b) => a[1] - b[1]);
    const chars = entries.map(([c]) => c);
    if (chars[0] !== PAD || chars[1] !== UNK) throw new Error('char tokenizer.json must start with <pad>, <unk>');
    return new CharTokenizer(chars.slice(2));
  }
}
