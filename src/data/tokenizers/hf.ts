// Any Hugging Face tokenizer.json (BPE, byte-level or not, WordPiece, Unigram, WordLevel; its
// normalizer, pre-tokenizer, post-processor and added tokens) through Hugging Face's own
// tokenizers.js, so that a teacher exported from PyTorch gets here the ids it got in training. minnow
// trains its own BPE and char vocabularies, but reads every tokenizer.json, its own included, here.
import { Tokenizer as HfImpl } from '@huggingface/tokenizers';
import type { Tokenizer, TokenizerJson, TokenizerKind } from './tokenizer.js';

/** Names a padding token goes by when tokenizer.json has no padding section. */
const PAD_NAMES = ['<pad>', '[PAD]', '<|pad|>', '<|endoftext|>', '</s>'];

/** Options of tokenizer_config.json that change ids or text (tokenizers.js reads them from its second argument). */
export interface TokenizerConfig {
  clean_up_tokenization_spaces?: boolean;
  [key: string]: unknown;
}

/** "Any character" as Oniguruma writes it (minnow's char tokenizers), and as an engine without \p{} can compile it. */
const ANY_CHAR = '[\\s\\S]', ANY_CODE_POINT = '[\\x{0}-\\x{10FFFF}]';

/**
 * tokenizer.json with each Split on [\s\S] made a Split on [\x{0}-\x{10FFFF}], which matches the same:
 * tokenizers.js rewrites \s to \p{White_Space}, which Hermes 0.12 (React Native's engine) cannot compile.
 */
function portable(json: TokenizerJson): TokenizerJson {
  const pre = json.pre_tokenizer as { type?: string; pattern?: { Regex?: string }; pretokenizers?: unknown[] } | null;
  const fix = (p: typeof pre): unknown => (p?.type === 'Split' && p.pattern?.Regex === ANY_CHAR ? { ...p, pattern: { Regex: ANY_CODE_POINT } } : p);
  if (!pre) return json;
  return { ...json, pre_tokenizer: pre.type === 'Sequence' ? { ...pre, pretokenizers: pre.pretokenizers?.map((p) => fix(p as typeof pre)) } : fix(pre) } as TokenizerJson;
}

export class HfTokenizer implements Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  private readonly impl: HfImpl;
  /** What the post-processor puts before and after the text's own ids ([CLS] ... [SEP], <s> ...). */
  private readonly prefix: number[];
  private readonly suffix: number[];

  constructor(private readonly json: TokenizerJson, config: TokenizerConfig = {}) {
    // Hugging Face's Rust tokenizers do not clean up spaces when decoding; only transformers'
    // Python tokenizers do, when their tokenizer_config.json says so.
    this.impl = new HfImpl(portable(json), { clean_up_tokenization_spaces: false, ...config });
    this.kind = kindOf(json);
    const ids = [...this.impl.get_vocab(true).values()];
    this.vocabSize = ids.reduce((a, b) => Math.max(a, b), -1) + 1;
    const padding = json.padding as { pad_id?: number } | null;
    this.padId = padding?.pad_id ?? firstId(this.impl, PAD_NAMES) ?? 0;
    const unk = json.model.unk_token;
    this.unkId = this.impl.model?.unk_token_id ?? (unk ? this.impl.token_to_id(unk) : undefined) ?? this.padId;
    [this.prefix, this.suffix] = specialsAround(this.impl);
  }

  /**
   * Token ids with the post-processor's special tokens; with `limit`, the first ones truncated the way
   * Hugging Face truncates (the text's ids are cut, the specials kept), reading no further than needed.
   */
  encode(text: string, limit = Infinity): number[] {
    const room = limit - this.prefix.length - this.suffix.length;
    const core = Number.isFinite(limit) ? this.firstIds(text, Math.max(0, room)) : this.ids(text);
    return [...this.prefix, ...core, ...this.suffix].slice(0, limit);
  }

  decode(ids: ArrayLike<number>): string {
    if (!ids.length) return '';
    return this.impl.decode(Array.from(ids), { skip_special_tokens: true });
  }

  toJSON(): TokenizerJson {
    return this.json;
  }

  private ids(text: string): number[] {
    const ids = this.impl.encode(text, { add_special_tokens: false }).ids;
    // tokenizers.js leaves a WordLevel model's unknown tokens undefined.
    for (let i = 0; i < ids.length; i++) ids[i] ??= this.unkId;
    return ids;
  }

  /**
   * The first n ids of a long text, from a prefix cut just before a whitespace: pre-tokenizers split
   * there, so the prefix's ids are the text's first ids. Texts without whitespace are read whole.
   */
  private firstIds(text: string, n: number): number[] {
    for (let chars = 4 * n + 64; chars < text.length; chars *= 2) {
      const cut = text.lastIndexOf(' ', chars);
      if (cut <= 0) break;
      const ids = this.ids(text.slice(0, cut));
      if (ids.length >= n) return ids.slice(0, n);
    }
    return this.ids(text).slice(0, n);
  }
}

function kindOf(json: TokenizerJson): TokenizerKind {
  const type = json.model?.type;
  if (type === 'WordLevel' && (json.pre_tokenizer as { type?: string } | null)?.type === 'Split') return 'char';
  const kinds: Record<string, TokenizerKind> = { BPE: 'bpe', WordPiece: 'wordpiece', Unigram: 'unigram', WordLevel: 'wordlevel' };
  const kind = kinds[String(type)];
  if (!kind) throw new Error(`unsupported tokenizer.json model type '${String(type)}' (BPE, WordPiece, Unigram or WordLevel)`);
  return kind;
}

function firstId(impl: HfImpl, names: string[]): number | undefined {
  for (const name of names) {
    const id = impl.token_to_id(name);
    if (id !== undefined) return id;
  }
  return undefined;
}

/** The ids the post-processor adds before and after a text, found from one short text. */
function specialsAround(impl: HfImpl): [number[], number[]] {
  const core: number[] = impl.encode('a', { add_special_tokens: false }).ids;
  const full: number[] = impl.encode('a', { add_special_tokens: true }).ids;
  for (let at = 0; at + core.length <= full.length; at++) {
    if (core.every((id, i) => full[at + i] === id)) return [full.slice(0, at), full.slice(at + core.length)];
  }
  return [[], []];
}
