// Hugging Face tokenizer.json files through minnow's loader (tokenizers.js) give the ids of a
// reference implementation (@lenml/tokenizers, a separate fork of transformers.js's tokenizers);
// bench/tokenizer-parity.ts does the same for llama3, qwen3, gemma3 and bert-base-uncased.
import { describe, expect, it } from 'vitest';
import { TokenizerLoader } from '@lenml/tokenizers';
import { tokenizerFromJSON } from '../../src/data/tokenizers/index.js';
import { bertJson, llama, samples, unigramJson } from './tokenizer-fixtures.js';

describe('Hugging Face tokenizer.json through tokenizers.js', () => {
  const texts = samples();
  const cases: [string, string, Record<string, unknown>, string][] = [
    ['llama2 (SentencePiece BPE, byte fallback)', llama.json, llama.config, 'bpe'],
    ['BERT WordPiece ([CLS] ... [SEP], lowercase)', bertJson, {}, 'wordpiece'],
    ['SentencePiece Unigram (Metaspace, ... </s>)', JSON.stringify(unigramJson()), {}, 'unigram'],
  ];
  for (const [name, json, config, kind] of cases) {
    it(`${name}: the reference's ids on ${texts.length} strings`, () => {
      const ours = tokenizerFromJSON(json, config);
      expect(ours.kind).toBe(kind);
      const reference = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(json), tokenizerConfig: config as never });
      const differ = texts.filter((t) => ours.encode(t).join() !== (reference.encode(t) as number[]).join());
      expect(differ).toEqual([]);
    });
  }

  it('truncates the way Hugging Face does: the text is cut, the specials kept', () => {
    const bert = tokenizerFromJSON(bertJson);
    const text = texts[0]!;
    const all = bert.encode(text);
    expect(all.length).toBeGreaterThan(20);
    expect(bert.encode(text, 10)).toEqual([...all.slice(0, 9), all.at(-1)]);
    const ll = tokenizerFromJSON(llama.json, llama.config);
    expect(ll.encode(text, 7)).toEqual(ll.encode(text).slice(0, 7));
    expect(ll.encode(text, 7)[0]).toBe(1); // <s>
  });

  it('finds padding and unknown ids: [PAD]/[UNK], </s> for Llama 2, padding.pad_id when given', () => {
    const bert = tokenizerFromJSON(bertJson);
    expect([bert.padId, bert.unkId]).toEqual([0, 1]);
    const ll = tokenizerFromJSON(llama.json);
    expect([ll.padId, ll.unkId, ll.vocabSize]).toEqual([2, 0, 32000]);
    const padded = JSON.parse(llama.json);
    padded.padding = { pad_id: 0, pad_token: '<unk>' };
    expect(tokenizerFromJSON(padded).padId).toBe(0);
    expect(tokenizerFromJSON(bertJson).decode(bert.encode('Hello, World'))).toBe('hello, world');
  });

  it('refuses what is not a tokenizer.json in one line', () => {
    expect(() => tokenizerFromJSON('{nope')).toThrow(/not JSON .*give a Hugging Face tokenizer.json/);
    expect(() => tokenizerFromJSON('{"vocab": {}}')).toThrow(/not a Hugging Face tokenizer.json/);
    expect(() => tokenizerFromJSON({ ...unigramJson(), model: { type: 'Mystery', vocab: {} } })).toThrow(/unsupported tokenizer.json model type 'Mystery'/);
  });
});
