// --vocab-prune's tokenizer: a teacher's vocabulary cut to the tokens a corpus uses still reads that
// corpus to the same tokens (renumbered), reads any other text, and loads in another implementation.
import { describe, expect, it } from 'vitest';
import { TokenizerLoader } from '@lenml/tokenizers';
import { trainBpe, trainChars, tokenizerFromJSON, type TokenizerJson } from '../../src/data/tokenizers/index.js';
import { pruneTokenizer, vocabOf } from '../../src/data/tokenizers/prune.js';
import { bertJson, llama, samples, unigramJson } from './tokenizer-fixtures.js';

describe('pruneTokenizer', () => {
  const texts = samples();
  const corpus = texts.filter((_, i) => i % 2 === 0);
  const unseen = texts.filter((_, i) => i % 2 === 1);
  const minnowBpe = trainBpe(corpus.join('\n'), { vocabSize: 600, minFrequency: 2 });
  const cases: [string, TokenizerJson, Record<string, unknown>][] = [
    ['llama2 (SentencePiece BPE, byte fallback)', JSON.parse(llama.json), llama.config],
    ['BERT WordPiece', JSON.parse(bertJson), {}],
    ['SentencePiece Unigram', unigramJson(), {}],
    ["minnow's byte-level BPE", minnowBpe, {}],
    ["minnow's characters", trainChars(corpus.join('\n')), {}],
  ];
  for (const [name, json, config] of cases) {
    it(`${name}: the corpus reads to the same tokens, renumbered, in fewer ids`, () => {
      const full = tokenizerFromJSON(json, config);
      const ids = corpus.map((t) => full.encode(t));
      const pruned = pruneTokenizer(json, ids.flat());
      const small = tokenizerFromJSON(pruned.json, config);
      expect(small.vocabSize).toBe(pruned.oldIds.length);
      expect(small.vocabSize).toBeLessThanOrEqual(full.vocabSize);
      expect(pruned.occurring).toBe(new Set(ids.flat()).size);
      const newId = new Map([...pruned.oldIds].map((old, id) => [old, id]));
      corpus.forEach((t, i) => expect(small.encode(t)).toEqual(ids[i]!.map((old) => newId.get(old))));
      expect([small.padId, small.unkId].map((id) => pruned.oldIds[id])).toEqual([full.padId, full.unkId]);
      // Another implementation (transformers.js's tokenizers) reads the pruned file the same way
      // (where it leaves a WordLevel model's unknown tokens undefined, minnow reads <unk>).
      const reference = TokenizerLoader.fromPreTrained({ tokenizerJSON: pruned.json as never, tokenizerConfig: config as never });
      for (const t of [...corpus, ...unseen]) expect((reference.encode(t) as number[]).map((id) => id ?? small.unkId)).toEqual(small.encode(t));
      for (const t of unseen) expect(small.encode(t).every((id) => id >= 0 && id < small.vocabSize)).toBe(true);
    });
  }

  it('llama2: 32,000 ids cut to those of a few mails, and unseen text still decodes exactly (byte fallback)', () => {
    const json = JSON.parse(llama.json) as TokenizerJson;
    const full = tokenizerFromJSON(json, llama.config);
    const pruned = pruneTokenizer(json, corpus.flatMap((t) => full.encode(t)));
    expect(pruned.oldIds.length).toBeLessThan(8000);
    const small = tokenizerFromJSON(pruned.json, llama.config);
    for (const t of unseen) expect(small.decode(small.encode(t))).toBe(full.decode(full.encode(t)));
    expect(vocabOf(pruned.json).get('<0xF0>')).toBeDefined();
  });

  it('byte-level BPE keeps its 256 byte symbols, so no text reads as unknown', () => {
    const full = tokenizerFromJSON(minnowBpe);
    const pruned = pruneTokenizer(minnowBpe, full.encode('the cat'));
    const small = tokenizerFromJSON(pruned.json);
    const text = '東京 😀 naïve';
    expect(small.encode(text)).not.toContain(small.unkId);
    expect(small.decode(small.encode(text))).toBe(text);
  });

  it('refuses an id the tokenizer does not have', () => {
    expect(() => pruneTokenizer(unigramJson(), [0, 99])).toThrow(/token id 99 is not in the tokenizer's vocabulary/);
  });
});
