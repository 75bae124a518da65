// A teacher's vocabulary cut down to the tokens a student's corpus uses (`distill --vocab-prune`):
// a 32,000-token Llama vocabulary puts most of a small student's parameters in embedding rows and
// logits it will never see. The pruned tokenizer.json is still one Hugging Face tools load, and
// reads the corpus to the same tokens (renumbered).
import type { TokenizerJson } from './tokenizer.js';

type Vocab = Record<string, number>;
type UnigramPiece = [string, number];

/** Every token of a tokenizer.json (its model's vocabulary and its added tokens) with its id. */
export function vocabOf(json: TokenizerJson): Map<string, number> {
  const ids = new Map<string, number>();
  const vocab = json.model.vocab;
  if (Array.isArray(vocab)) vocab.forEach(([token], id) => ids.set(token, id));
  else for (const [token, id] of Object.entries(vocab)) ids.set(token, id);
  for (const t of json.added_tokens) ids.set(t.content, t.id);
  return ids;
}

export interface PrunedTokenizer {
  json: TokenizerJson;
  /** The old id of each new id. */
  oldIds: Int32Array;
  /** How many ids occur in the corpus (the rest are kept so that the tokenizer still works). */
  occurring: number;
}

/**
 * Keeps the ids that occur, plus what the tokenizer needs to read the same text to the same tokens
 * and any other text to something: added and unknown tokens, byte-fallback tokens, a byte-level
 * model's 256 byte symbols, and (BPE) every token a kept token's merges are built from, since merges
 * run through intermediate tokens that never come out. Removing tokens that never come out does not
 * change what comes out: BPE applies the same merges in the same order, WordPiece finds the same
 * longest pieces, Unigram the same best segmentation. New ids follow the old order.
 */
export function pruneTokenizer(json: TokenizerJson, occurring: Iterable<number>): PrunedTokenizer {
  const ids = vocabOf(json);
  const tokenOf = new Map([...ids].map(([token, id]) => [id, token]));
  const keep = new Set<string>();
  let occurs = 0;
  for (const id of new Set(occurring)) {
    const token = tokenOf.get(id);
    if (token === undefined) throw new Error(`token id ${id} is not in the tokenizer's vocabulary`);
    keep.add(token);
    occurs++;
  }
  for (const token of alwaysKept(json, ids)) keep.add(token);
  if (json.model.type === 'BPE') addMergeParts(json, keep);
  const oldIds = Int32Array.from([...keep].map((t) => ids.get(t)!).sort((a, b) => a - b));
  const newId = new Map([...oldIds].map((old, id) => [old, id]));
  return { json: renumbered(json, keep, newId), oldIds, occurring: occurs };
}

function alwaysKept(json: TokenizerJson, ids: Map<string, number>): string[] {
  const model = json.model as TokenizerJson['model'] & { byte_fallback?: boolean; unk_id?: number | null };
  const padding = json.padding as { pad_token?: string } | null;
  const kept = [...json.added_tokens.map((t) => t.content), ...processorTokens(json.post_processor)];
  if (typeof padding?.pad_token === 'string') kept.push(padding.pad_token);
  if (typeof model.unk_token === 'string') kept.push(model.unk_token);
  if (Array.isArray(model.vocab)) {
    const pieces = model.vocab as UnigramPiece[];
    if (typeof model.unk_id === 'number') kept.push(pieces[model.unk_id]![0]);
    // Unigram scores unknown characters below its lowest piece: keeping that piece keeps the score.
    if (pieces.length) kept.push(pieces.reduce((low, p) => (p[1] < low[1] ? p : low))[0]);
  }
  if (model.byte_fallback) kept.push(...[...ids.keys()].filter((t) => /^<0x[0-9A-F]{2}>$/.test(t)));
  // A byte-level model's single characters are its 256 bytes: with them any text still encodes.
  if (JSON.stringify(json.pre_tokenizer ?? null).includes('"ByteLevel"')) kept.push(...[...ids.keys()].filter((t) => [...t].length === 1));
  return kept.filter((t) => ids.has(t));
}

/** The tokens a post-processor writes ([CLS], [SEP], <s>). */
function processorTokens(processor: unknown): string[] {
  if (!processor || typeof processor !== 'object') return [];
  const p = processor as Record<string, unknown>;
  const nested = Array.isArray(p.processors) ? p.processors.flatMap(processorTokens) : [];
  const pairs = ['sep', 'cls'].flatMap((key) => (Array.isArray(p[key]) ? [(p[key] as [string, number])[0]] : []));
  const specials = Object.values((p.special_tokens ?? {}) as Record<string, { tokens: string[] }>).flatMap((s) => s.tokens);
  return [...nested, ...pairs, ...specials];
}

/** Every merge building a kept token, and the tokens it merges, until nothing new is needed. */
function addMergeParts(json: TokenizerJson, keep: Set<string>): void {
  const builders = new Map<string, [string, string][]>();
  for (const [a, b] of mergePairs(json)) {
    const token = merged(json, a, b);
    const list = builders.get(token) ?? [];
    list.push([a, b]);
    builders.set(token, list);
  }
  const work = [...keep];
  while (work.length) {
    for (const [a, b] of builders.get(work.pop()!) ?? []) {
      for (const part of [a, b]) if (!keep.has(part)) { keep.add(part); work.push(part); }
    }
  }
}

/** The token a merge makes: a continuing piece's prefix (WordPiece-style '##') is not repeated inside. */
function merged(json: TokenizerJson, a: string, b: string): string {
  const prefix = json.model.continuing_subword_prefix;
  return typeof prefix === 'string' && prefix && b.startsWith(prefix) ? a + b.slice(prefix.length) : a + b;
}

function mergePairs(json: TokenizerJson): [string, string][] {
  return (json.model.merges ?? []).map((m) => {
    if (Array.isArray(m)) return m;
    const space = m.indexOf(' ', 1);
    return [m.slice(0, space), m.slice(space + 1)];
  });
}

function renumbered(json: TokenizerJson, keep: Set<string>, newId: Map<number, number>): TokenizerJson {
  const to = (old: number) => {
    const id = newId.get(old);
    if (id === undefined) throw new Error(`the tokenizer names token id ${old} (a special or padding token) that its vocabulary does not have`);
    return id;
  };
  const model = { ...json.model };
  if (Array.isArray(model.vocab)) {
    const pieces = (model.vocab as UnigramPiece[]).filter((_, old) => newId.has(old));
    model.vocab = pieces;
    if (typeof model.unk_id === 'number') model.unk_id = to(model.unk_id);
  } else {
    model.vocab = Object.fromEntries(Object.entries(model.vocab as Vocab).filter(([token]) => keep.has(token)).map(([token, id]) => [token, to(id)]));
  }
  if (model.merges) {
    const kept = mergePairs(json).map((pair, i) => [pair, model.merges![i]] as const).filter(([[a, b]]) => keep.has(merged(json, a, b)) && keep.has(a) && keep.has(b));
    model.merges = kept.map(([, m]) => m) as typeof model.merges;
  }
  const padding = json.padding as { pad_id?: number } | null;
  return {
    ...json, model,
    added_tokens: json.added_tokens.map((t) => ({ ...t, id: to(t.id) })),
    padding: padding && typeof padding.pad_id === 'number' ? { ...padding, pad_id: to(padding.pad_id) } : json.padding,
    post_processor: renumberedProcessor(json.post_processor, to),
  };
}

/** The ids a post-processor writes ([CLS], [SEP], <s>), in the new numbering. */
function renumberedProcessor(processor: unknown, to: (old: number) => number): unknown {
  if (!processor || typeof processor !== 'object') return processor;
  const p = { ...(processor as Record<string, unknown>) };
  if (Array.isArray(p.processors)) p.processors = p.processors.map((q) => renumberedProcessor(q, to));
  for (const key of ['sep', 'cls']) {
    const pair = p[key] as [string, number] | undefined;
    if (Array.isArray(pair)) p[key] = [pair[0], to(pair[1])];
  }
  const specials = p.special_tokens as Record<string, { ids: number[] }> | null | undefined;
  if (specials) p.special_tokens = Object.fromEntries(Object.entries(specials).map(([name, s]) => [name, { ...s, ids: s.ids.map(to) }]));
  return p;
}
