// Byte-level BPE (GPT-2 style): text is split by the GPT-2 pattern, each piece's UTF-8 bytes are
// mapped to printable characters, and learned merges join frequent adjacent symbols. Any string
// encodes without <unk>, since every byte has a symbol.
import { PAD, UNK, addedTokens, type Tokenizer, type TokenizerJson } from './tokenizer.js';

/** The GPT-2 pre-tokenization pattern. */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's reversible byte -> printable character table. */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let i = 33; i <= 126; i++) bs.push(i);
  for (let i = 161; i <= 172; i++) bs.push(i);
  for (let i = 174; i <= 255; i++) bs.push(i);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) { bs.push(b); cs.push(256 + n); n++; }
  }
  const table = new Array<string>(256);
  bs.forEach((b, i) => { table[b] = String.fromCodePoint(cs[i]!); });
  return table;
}

const BYTE_TO_CHAR = bytesToUnicode();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function pieceSymbols(piece: string): string {
  let s = '';
  for (const b of utf8.encode(piece)) s += BYTE_TO_CHAR[b];
  return s;
}

export interface BpeTrainOptions {
  vocabSize: number;
  /** Ignore words seen fewer times (speeds training on large corpora). */
  minFrequency?: number;
  onProgress?: (merges: number, target: number) => void;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly padId = 0;
  readonly unkId = 1;
  private readonly vocab: Map<string, number>;
  private readonly inverse: string[];
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: Map<string, number>, readonly merges: [string, string][]) {
    this.vocab = vocab;
    this.inverse = [];
    for (const [tok, id] of vocab) this.inverse[id] = tok;
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  }

  get vocabSize(): number { return this.inverse.length; }

  static train(corpus: string, options: BpeTrainOptions): BpeTokenizer {
    const base = [PAD, UNK, ...BYTE_TO_CHAR];
    if (options.vocabSize < base.length) throw new Error(`BPE vocab size must be at least ${base.length} (specials + 256 bytes)`);
    const symbols = [...base];
    const symbolId = new Map(symbols.map((s, i) => [s, i]));

    const counts = new Map<string, number>();
    for (const m of corpus.matchAll(GPT2_PATTERN)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
    const minFreq = options.minFrequency ?? 1;
    const words: number[][] = [];
    const freqs: number[] = [];
    for (const [w, c] of counts) {
      if (c < minFreq) continue;
      words.push([...pieceSymbols(w)].map((ch) => symbolId.get(ch)!));
      freqs.push(c);
    }

    // pair key -> count, and pair key -> words containing it.
    const key = (a: number, b: number) => a * 1_000_003 + b;
    const pairCounts = new Map<number, number>();
    const where = new Map<number, Set<number>>();
    const addWord = (wi: number, sign: 1 | -1) => {
      const w = words[wi]!, f = freqs[wi]! * sign;
      for (let i = 0; i + 1 < w.length; i++) {
        const k = key(w[i]!, w[i + 1]!);
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + f);
        if (sign > 0) { let s = where.get(k); if (!s) where.set(k, (s = new Set())); s.add(wi); }
      }
    };
    for (let i = 0; i < words.length; i++) addWord(i, 1);

    const merges: [string, string][] = [];
    const target = options.vocabSize - symbols.length;
    while (symbols.length < options.vocabSize) {
      let best = -1, bestCount = 0;
      for (const [k, c] of pairCounts) if (c > bestCount || (c === bestCount && c > 0 && k < best)) { best = k; bestCount = c; }
      if (bestCount < 2) break;
      const a = Math.floor(best / 1_000_003), b = best % 1_000_003;
      const merged = symbols[a]! + symbols[b]!;
      const id = symbols.length;
      symbols.push(merged);
      symbolId.set(merged, id);
      merges.push([symbols[a]!, symbols[b]!]);
      for (const wi of where.get(best) ?? []) {
        const w = words[wi]!;
        addWord(wi, -1);
        const out: number[] = [];
        for (let i = 0; i < w.length; i++) {
          if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { out.push(id); i++; } else out.push(w[i]!);
        }
        words[wi] = out;
        addWord(wi, 1);
      }
      pairCounts.delete(best);
      where.delete(best);
      if (options.onProgress && merges.length % 100 === 0) options.onProgress(merges.length, target);
    }
    return new BpeTokenizer(new Map(symbols.map((s, i) => [s, i])), merges);
  }

  /** Ids of one pre-tokenized piece, cached by the piece itself. */
  private bpe(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let parts = [...pieceSymbols(piece)];
    while (parts.length > 1) {
      let bestRank = Infinity, bestAt = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; bestAt = i; }
      }
      if (bestAt < 0) break;
      const first = parts[bestAt]!, second = parts[bestAt + 1]!;
      const next: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === first && parts[i + 1] === second) { next.push(first + second); i++; } else next.push(parts[i]!);
      }
      parts = next;
    }
    const ids = parts.map((p) => this.vocab.get(p) ?? this.unkId);
    if (this.cache.size < 100_000) this.cache.set(piece, ids);
    return ids;
  }

  encode(text: string, limit = Infinity): number[] {
    const out: number[] = [];
    for (const m of text.matchAll(GPT2_PATTERN)) {
      for (const id of this.bpe(m[0])) out.push(id);
      // Callers that truncate need no more than `limit` tokens: stop reading long texts early.
      if (out.length >= limit) return out.slice(0, limit);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id <= this.unkId) continue;
      for (const ch of this.inverse[id] ?? '') {
        const b = CHAR_TO_BYTE.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    return fromUtf8.decode(new Uint8Array(bytes));
  }

  toJSON(): TokenizerJson {
    return {
      version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(), normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
        fuse_unk: false, byte_fallback: false, ignore_merges: false,
        vocab: Object.fromEntries(this.vocab), merges: this.merges.map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  static fromJSON(json: TokenizerJson): BpeTokenizer {
    const merges = (json.model.merges ?? []).map((m) => {
      const at = m.indexOf(' ');
      return [m.slice(0, at), m.slice(at + 1)] as [string, string];
    });
    return new BpeTokenizer(new Map(Object.entries(json.model.vocab)), merges);
  }
}
