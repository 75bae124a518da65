// Training a byte-level BPE (GPT-2 style): text is split by the GPT-2 pattern, each piece's UTF-8
// bytes are mapped to printable characters, and learned merges join frequent adjacent symbols. Any
// string encodes without <unk>, since every byte has a symbol. The result is a tokenizer.json, read
// like any other through tokenizers.js (hf.ts).
import { PAD, UNK, addedTokens, type TokenizerJson } from './tokenizer.js';

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
const utf8 = new TextEncoder();

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

/** Learns merges on `corpus` up to `vocabSize` symbols (2 specials + 256 bytes + merges). */
export function trainBpe(corpus: string, options: BpeTrainOptions): TokenizerJson {
  const base = [PAD, UNK, ...BYTE_TO_CHAR];
  if (options.vocabSize < base.length) throw new Error(`BPE vocab size must be at least ${base.length} (specials + 256 bytes)`);
  const symbols = [...base];
  const symbolId = new Map(symbols.map((s, i) => [s, i]));
  const { words, freqs } = countWords(corpus, symbolId, options.minFrequency ?? 1);

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
    const id = symbols.length;
    symbols.push(symbols[a]! + symbols[b]!);
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
  return bpeJson(symbols, merges);
}

/** The corpus's distinct pre-tokenized pieces as symbol ids, with how often each occurs. */
function countWords(corpus: string, symbolId: Map<string, number>, minFreq: number): { words: number[][]; freqs: number[] } {
  const counts = new Map<string, number>();
  for (const m of corpus.matchAll(GPT2_PATTERN)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, c] of counts) {
    if (c < minFreq) continue;
    words.push([...pieceSymbols(w)].map((ch) => symbolId.get(ch)!));
    freqs.push(c);
  }
  return { words, freqs };
}

function bpeJson(symbols: string[], merges: [string, string][]): TokenizerJson {
  return {
    version: '1.0', truncation: null, padding: null, added_tokens: addedTokens(), normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(symbols.map((s, i) => [s, i])), merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
