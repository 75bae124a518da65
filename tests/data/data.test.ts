import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitOf, fnv1a } from '../../src/data/split.js';
import { parseIdx } from '../../src/data/idx.js';
import { loadDataset, stripHeaders, parseJsonlFile, parseCsvFile, DataError, loadCorpus, taskOfData } from '../../src/data/datasets.js';
import { tokenizerFromJSON, trainBpe, trainChars } from '../../src/data/tokenizers/index.js';
import { ImageSource, LanguageModelSource, TextClassificationSource, epochOrder, iterateBatches } from '../../src/data/batching.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-data-'));

describe('splits', () => {
  it('are a function of content (FNV-1a reference values)', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(splitOf('hello')).toBe(splitOf('hello'));
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 5000; i++) counts[splitOf(`item ${i}`)]++;
    expect(counts.train / 5000).toBeGreaterThan(0.75);
    expect(counts.validation / 5000).toBeGreaterThan(0.07);
    expect(counts.test / 5000).toBeGreaterThan(0.07);
  });
});

describe('IDX', () => {
  it('parses a (gzipped) uint8 tensor', () => {
    const bytes = new Uint8Array([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    for (const b of [bytes, gzipSync(bytes)]) {
      const a = parseIdx(b);
      expect(a.dims).toEqual([2, 3]);
      expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });
  it('rejects truncated files', () => {
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 9, 1]))).toThrow(/truncated/);
  });
});

describe('built-in data sets', () => {
  it('spam: ham/spam labels, headers stripped by default', () => {
    const d = loadDataset('spam', 'classify', { limit: 50 });
    if (d.task !== 'classify') throw new Error('wrong task');
    expect(d.labels).toEqual(['ham', 'spam']);
    expect(d.splits.train.length).toBe(50);
    expect(d.splits.train.some((e) => /^Return-Path:/m.test(e.text))).toBe(false);
    const kept = loadDataset('spam', 'classify', { limit: 50, keepHeaders: true });
    if (kept.task !== 'classify') throw new Error('wrong task');
    expect(kept.splits.train.some((e) => /^(From|Return-Path)/m.test(e.text))).toBe(true);
    expect(stripHeaders('Subject: x\r\nFrom: y\r\n\r\nbody\n\nmore')).toBe('body\n\nmore');
  });
  it('moby-dick: a corpus split into blocks', () => {
    const d = loadDataset('moby-dick', 'lm');
    if (d.task !== 'lm') throw new Error('wrong task');
    const total = d.splits.train.length + d.splits.validation.length + d.splits.test.length;
    expect(total).toBeGreaterThan(1_000_000);
    expect(d.splits.validation.length / total).toBeGreaterThan(0.05);
  });
  it('fashion-mnist: 28x28 images with 10 labels and the official test set', () => {
    const d = loadDataset('fashion-mnist', 'image', { limit: 20 });
    if (d.task !== 'image') throw new Error('wrong task');
    expect(d.shape).toEqual([1, 28, 28]);
    expect(d.labels).toHaveLength(10);
    expect(d.splits.test).toHaveLength(20);
    expect(d.splits.train[0]!.pixels.length).toBe(784);
    expect(Math.max(...d.splits.train[0]!.pixels)).toBeLessThanOrEqual(1);
  });
  it('spam is also a corpus: each split is the text of that split\'s mails', () => {
    const mails = loadDataset('spam', 'classify');
    const corpus = loadDataset('spam', 'lm');
    if (mails.task !== 'classify' || corpus.task !== 'lm') throw new Error('wrong task');
    for (const split of ['train', 'validation', 'test'] as const) {
      expect(corpus.splits[split]).toBe(mails.splits[split].map((e) => e.text).join('\n\n'));
    }
    expect(loadDataset('spam', 'lm', { limit: 1000 }).splits.train).toHaveLength(1000);
  });
  it('says which task a built-in data set is for', () => {
    expect(() => loadDataset('spam', 'image')).toThrow(/is for --task classify or lm, not --task image/);
    expect(() => loadDataset('moby-dick', 'classify')).toThrow(/is for --task lm, not/);
  });
  it('names a missing path', () => {
    expect(() => loadDataset('/no/such/file.jsonl', 'classify')).toThrow(DataError);
  });
});

describe('user data', () => {
  it('JSONL: labels sorted, a malformed line reported with its number', () => {
    const dir = tmp();
    const good = path.join(dir, 'good.jsonl');
    writeFileSync(good, '{"text":"a","label":"pos"}\n\n{"text":"b","label":"neg"}\n');
    expect(parseJsonlFile(good)).toEqual([{ text: 'a', label: 'pos' }, { text: 'b', label: 'neg' }]);
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text":"a","label":"pos"}\n{"text": oops}\n');
    expect(() => parseJsonlFile(bad)).toThrow(/bad\.jsonl:2: not valid JSON/);
    const missing = path.join(dir, 'missing.jsonl');
    writeFileSync(missing, '{"text":"a"}\n');
    expect(() => parseJsonlFile(missing)).toThrow(/missing\.jsonl:1: each line needs/);
  });
  it('CSV with quotes, commas and newlines in fields', () => {
    const file = path.join(tmp(), 'd.csv');
    writeFileSync(file, 'label,text\npos,"hello, ""world"""\nneg,"two\nlines"\n');
    expect(parseCsvFile(file)).toEqual([{ label: 'pos', text: 'hello, "world"' }, { label: 'neg', text: 'two\nlines' }]);
  });
  it('the task a data set is for: built-in, or by the kind of file', () => {
    const dir = tmp();
    const file = (name: string) => { const f = path.join(dir, name); writeFileSync(f, 'x'); return f; };
    expect(['spam', 'moby-dick', 'sotu', 'fashion-mnist'].map(taskOfData)).toEqual(['classify', 'lm', 'lm', 'image']);
    expect([file('a.jsonl'), file('a.csv'), file('a.txt'), file('images.idx.gz'), dir].map(taskOfData)).toEqual(['classify', 'classify', 'lm', 'image', 'image']);
    expect(() => taskOfData(file('a.parquet'))).toThrow(/cannot tell the task .* give --task/);
    expect(() => taskOfData(path.join(dir, 'nope.jsonl'))).toThrow(DataError);
  });
  it('plain text as an LM corpus', () => {
    const file = path.join(tmp(), 'c.txt');
    writeFileSync(file, 'x'.repeat(10_000));
    const d = loadDataset(file, 'lm');
    if (d.task !== 'lm') throw new Error('wrong task');
    expect(d.splits.train.length + d.splits.validation.length + d.splits.test.length).toBe(10_000);
    expect(loadCorpus('c', ['ab'])).toMatchObject({ task: 'lm' });
  });
});

describe('tokenizers', () => {
  const samples = ['hello world', 'naïve café — 東京 😀', 'tabs\tand\nnewlines  ', ''];
  it('char: round-trips and maps unknown characters to <unk>', () => {
    const tok = tokenizerFromJSON(trainChars('hello world naïve café — 東京 😀 tabs\tand\nnewlines'));
    expect(tok.kind).toBe('char');
    for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s);
    expect(tok.encode('Z')).toEqual([tok.unkId]);
    expect(tok.unkId).toBe(1);
    expect(tok.encode('😀')).toEqual([tok.toJSON().model.vocab['😀' as never]]);
    const back = tokenizerFromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    expect(back.encode('hello 東京')).toEqual(tok.encode('hello 東京'));
    // One id per code point, whitespace of every kind included, and the file keeps Oniguruma's [\s\S].
    // (V8 compiles either form: that the runtime's [\x{0}-\x{10FFFF}] works where \p{} does not is
    // shown by the Moby Dick students in Hermes, tests/runtime/micro-engines.test.ts.)
    const odd = 'a\u0085b\ufeffc\u2028d\r\n😀';
    const wide = tokenizerFromJSON(trainChars(odd));
    expect(wide.encode(odd)).toEqual(Array.from(odd, (ch) => wide.toJSON().model.vocab[ch as never]));
    expect((wide.toJSON().pre_tokenizer as { pattern: { Regex: string } }).pattern.Regex).toBe('[\\s\\S]');
  });
  it('byte-level BPE: learns merges, round-trips any Unicode, reloads from tokenizer.json', () => {
    const corpus = 'the cat sat on the mat. the cat ate the rat. '.repeat(50);
    const tok = tokenizerFromJSON(trainBpe(corpus, { vocabSize: 300 }));
    expect(tok.kind).toBe('bpe');
    expect(tok.vocabSize).toBeGreaterThan(258);
    expect(tok.encode('the cat').length).toBeLessThan('the cat'.length);
    for (const s of samples) expect(tok.decode(tok.encode(s))).toBe(s);
    const json = tok.toJSON();
    expect(json.model.type).toBe('BPE');
    expect(json.pre_tokenizer).toMatchObject({ type: 'ByteLevel' });
    expect(json.model.merges![0]).toMatch(/^\S+ \S+$/);
    const back = tokenizerFromJSON(JSON.stringify(json));
    for (const s of samples) expect(back.encode(s)).toEqual(tok.encode(s));
  });
});

describe('batching', () => {
  it('pads text batches and masks the padding', () => {
    const src = new TextClassificationSource([[5, 6, 7], [8]], [1, 0], 0);
    const b = src.make([0, 1]);
    expect(b.input_ids!.dims).toEqual([2, 3]);
    expect(b.input_ids!.toNumbers()).toEqual([5, 6, 7, 8, 0, 0]);
    expect(b.attention_mask!.toNumbers()).toEqual([1, 1, 1, 1, 0, 0]);
    expect(b.labels!.toNumbers()).toEqual([1, 0]);
  });
  it('LM windows predict the next token', () => {
    const src = new LanguageModelSource(Int32Array.from([1, 2, 3, 4, 5, 6, 7]), 3);
    expect(src.size).toBe(2);
    const b = src.make([1]);
    expect(b.input_ids!.toNumbers()).toEqual([4, 5, 6]);
    expect(b.labels!.toNumbers()).toEqual([5, 6, 7]);
  });
  it('augmentation: text windows of ctx tokens, image shifts and flips, drawn from (seed, epoch, batch)', () => {
    const text = new TextClassificationSource([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10]], [1, 0], 0, 3);
    expect(text.make([0, 1]).input_ids!.toNumbers()).toEqual([1, 2, 3, 9, 10, 0]); // no augmentation: the first ctx tokens
    const starts = new Set<number>();
    let first = 0;
    for (let seed = 0; seed < 200; seed++) {
      const [b] = iterateBatches(text, { batchSize: 2, seed, epoch: 0, shuffle: false, augment: true });
      const ids = b!.input_ids!.toNumbers();
      expect(ids.slice(1, 3)).toEqual([ids[0]! + 1, ids[0]! + 2]); // a contiguous window
      expect(ids.slice(3)).toEqual([9, 10, 0]); // a short text is never cut
      starts.add(ids[0]!);
      first += Number(ids[0] === 1);
    }
    expect([...starts].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    // Half the views are the start of the text, the view a model is tested on.
    expect(first / 200).toBeGreaterThan(0.45);

    const pixels = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    const images = new ImageSource([{ pixels, label: 3 }], [1, 4, 4], { mean: 0, std: 1 }, { shift: 1, flip: true });
    expect(images.make([0]).pixels!.toNumbers()).toEqual([...pixels]);
    const seen = new Set<string>();
    for (let epoch = 0; epoch < 60; epoch++) {
      const opts = { batchSize: 1, seed: 7, epoch, shuffle: false, augment: true };
      const [a] = iterateBatches(images, opts);
      const [again] = iterateBatches(images, opts);
      const v = a!.pixels!.toNumbers();
      expect(again!.pixels!.toNumbers()).toEqual(v);
      // Every output pixel is background (0) or one of the source's, each used at most once.
      const used = v.filter((x) => x !== 0);
      expect(new Set(used).size).toBe(used.length);
      expect(used.length).toBeGreaterThanOrEqual(9);
      seen.add(v.join());
    }
    expect(seen.size).toBeGreaterThan(8); // 9 shifts x 2 flips
  });
  it('epoch order depends only on seed and epoch', () => {
    expect(epochOrder(10, 1, 2)).toEqual(epochOrder(10, 1, 2));
    expect(epochOrder(10, 1, 2)).not.toEqual(epochOrder(10, 1, 3));
    expect([...epochOrder(10, 1, 2)].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
  });
});

describe('encode with a limit', () => {
  it('returns the first tokens only', () => {
    const bpe = tokenizerFromJSON(trainBpe('the cat sat on the mat. '.repeat(40), { vocabSize: 280 }));
    const all = bpe.encode('the cat sat on the mat and the cat ate');
    expect(bpe.encode('the cat sat on the mat and the cat ate', 3)).toEqual(all.slice(0, 3));
    const ch = tokenizerFromJSON(trainChars('abc'));
    expect(ch.encode('abcabc', 4)).toEqual(ch.encode('abca'));
  });
});
