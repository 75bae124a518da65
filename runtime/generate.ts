// Text generation, one token per step. With a KV-cache decoder (inputs past_key_values.*), each
// step feeds only the new token and the cached keys/values; with a plain LM it re-runs the whole
// sequence, which is what the cache saves.
import type { Tokenizer } from '../src/data/tokenizers/index.js';
import type { OrtLike, OrtSession, OrtTensor } from './load.js';
import { INPUT, cachedLayers, pastKeyName, pastValueName, presentKeyName, presentValueName } from '../src/format/names.js';
import { mulberry32 } from '../src/format/rng.js';

export interface GenerateOptions {
  /** Tokens to generate at most (default 64). */
  maxTokens?: number;
  /** 0 (default): greedy. Above 0: sample from softmax(logits / temperature). */
  temperature?: number;
  topK?: number;
  /** Nucleus sampling: the smallest set of tokens whose probability reaches topP. */
  topP?: number;
  /** Stop once the generated text ends with one of these (not included in the output). */
  stop?: string[];
  signal?: AbortSignal;
  /** Seed for sampling (default: Math.random). */
  seed?: number;
}

export interface GeneratorParts {
  ort: OrtLike;
  session: OrtSession;
  tokenizer: Tokenizer;
  inputs: readonly string[];
  inputShapes: Record<string, (number | string)[]>;
  /** Longest sequence the model's positions cover. */
  ctx: number;
  logitsName: string;
}

export function pickToken(logits: Float32Array, options: GenerateOptions, random: () => number): number {
  const T = options.temperature ?? 0;
  if (T <= 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  let order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  if (options.topK && options.topK > 0) order = order.slice(0, options.topK);
  const max = logits[order[0]!]! / T;
  let probs = order.map((i) => Math.exp(logits[i]! / T - max));
  const sum = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / sum);
  if (options.topP !== undefined && options.topP < 1) {
    let acc = 0, keep = 0;
    while (keep < probs.length && acc < options.topP) acc += probs[keep++]!;
    order = order.slice(0, keep);
    probs = probs.slice(0, keep).map((p) => p / acc);
  }
  let r = random();
  for (let i = 0; i < order.length; i++) { r -= probs[i]!; if (r <= 0) return order[i]!; }
  return order[order.length - 1]!;
}

export async function* generateTokens(parts: GeneratorParts, prompt: string, options: GenerateOptions = {}): AsyncGenerator<string> {
  const { ort, session, tokenizer } = parts;
  const ids = tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error('generate() needs a non-empty prompt');
  if (ids.length >= parts.ctx) throw new Error(`the prompt has ${ids.length} tokens; the model's context is ${parts.ctx}`);
  const random = options.seed === undefined ? Math.random : mulberry32(options.seed);
  const maxTokens = options.maxTokens ?? 64;
  const layers = cachedLayers(parts.inputs);
  const tensor = (tokens: number[]) => new ort.Tensor('int64', BigInt64Array.from(tokens, (t) => BigInt(t)), [1, tokens.length]);
  const lastRow = (out: Record<string, OrtTensor>) => {
    const l = out[parts.logitsName]!;
    const vocab = l.dims[l.dims.length - 1]!;
    const data = l.data as Float32Array;
    return data.subarray(data.length - vocab);
  };

  let feeds: Record<string, OrtTensor> = { [INPUT.ids]: tensor(ids) };
  if (layers > 0) {
    const shape = parts.inputShapes[pastKeyName(0)] ?? [];
    const heads = Number(shape[1]), headDim = Number(shape[3]);
    for (let i = 0; i < layers; i++) {
      feeds[pastKeyName(i)] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim]);
      feeds[pastValueName(i)] = new ort.Tensor('float32', new Float32Array(0), [1, heads, 0, headDim]);
    }
  }
  const generated: number[] = [];
  let emitted = '';
  for (let step = 0; step < maxTokens && ids.length + generated.length < parts.ctx; step++) {
    options.signal?.throwIfAborted();
    const out = await session.run(feeds);
    const next = pickToken(lastRow(out), options, random);
    generated.push(next);
    // Decode everything so far and emit the new suffix; hold back an incomplete UTF-8 sequence.
    const text = tokenizer.decode(generated);
    if (!text.endsWith('\uFFFD') && text.length > emitted.length) {
      let piece = text.slice(emitted.length);
      const stop = options.stop?.find((s) => text.endsWith(s) || (emitted + piece).includes(s));
      if (stop) {
        const cut = (emitted + piece).indexOf(stop);
        piece = (emitted + piece).slice(emitted.length, cut);
        if (piece) yield piece;
        return;
      }
      emitted = text;
      yield piece;
    }
    if (layers > 0) {
      feeds = { [INPUT.ids]: tensor([next]) };
      for (let i = 0; i < layers; i++) {
        feeds[pastKeyName(i)] = out[presentKeyName(i)]!;
        feeds[pastValueName(i)] = out[presentValueName(i)]!;
      }
    } else {
      feeds = { [INPUT.ids]: tensor([...ids, ...generated].slice(-parts.ctx)) };
    }
  }
}
