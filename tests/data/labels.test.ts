// Scarce labels: --limit draws every class, --labels-fraction keeps a content-chosen share of each
// class's labels, and --unlabeled reads examples without labels from every source it names.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { keepLabels, stratifiedLimit } from '../../src/data/sample.js';
import { DataError, loadDataset, type TextExample } from '../../src/data/datasets.js';
import { loadUnlabeled, NO_LABEL } from '../../src/data/unlabeled.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-labels-'));
const counts = (examples: { label: number }[]) => examples.reduce<Record<number, number>>((c, e) => ({ ...c, [e.label]: (c[e.label] ?? 0) + 1 }), {});

describe('--limit', () => {
  it('takes every class in proportion, the first of each, in their order', () => {
    const examples = [...Array(100)].map((_, i) => ({ id: i, label: i < 80 ? 0 : 1 }));
    const picked = stratifiedLimit(examples, 10);
    expect(picked.map((e) => e.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 80, 81]);
    expect(stratifiedLimit(examples, 200)).toBe(examples);
    // Rounding leftovers go to the largest remainders: 3 classes of 1/3 each, limit 4.
    const thirds = [...Array(9)].map((_, i) => ({ label: i % 3 }));
    expect(stratifiedLimit(thirds, 4)).toHaveLength(4);
  });

  it('spam --limit 200 holds ham and spam (its first 200 mails are all ham)', () => {
    const data = loadDataset('spam', 'classify', { limit: 200 });
    if (data.task !== 'classify') throw new Error('unreachable');
    const c = counts(data.splits.train);
    expect(data.splits.train).toHaveLength(200);
    expect(c[0]).toBeGreaterThan(100);
    expect(c[1]).toBeGreaterThan(20);
    expect(Object.keys(counts(data.splits.test))).toHaveLength(2);
  });
});

describe('--labels-fraction', () => {
  const examples = [...Array(400)].map((_, i) => ({ text: `mail ${i}`, label: i % 5 === 0 ? 1 : 0 }));

  it('keeps the fraction of each class chosen by content, whatever the order', () => {
    const { kept, rest } = keepLabels(examples, 0.1, (e) => e.text);
    expect(counts(kept)).toEqual({ 0: 32, 1: 8 });
    expect(kept.length + rest.length).toBe(400);
    const shuffled = [...examples].reverse();
    expect(new Set(keepLabels(shuffled, 0.1, (e) => e.text).kept.map((e) => e.text))).toEqual(new Set(kept.map((e) => e.text)));
    // At least one example of a class survives however small the fraction.
    expect(counts(keepLabels(examples, 0.001, (e) => e.text).kept)).toEqual({ 0: 1, 1: 1 });
  });

  it('on spam: 5% of each class trains, the rest is withheld, validation and test untouched', () => {
    const all = loadDataset('spam', 'classify');
    const five = loadDataset('spam', 'classify', { labelsFraction: 0.05 });
    if (all.task !== 'classify' || five.task !== 'classify') throw new Error('unreachable');
    const c = counts(all.splits.train), k = counts(five.splits.train);
    expect(k[0]).toBe(Math.ceil(0.05 * c[0]!));
    expect(k[1]).toBe(Math.ceil(0.05 * c[1]!));
    expect(five.splits.train.length + five.withheld!.length).toBe(all.splits.train.length);
    expect(five.splits.test).toEqual(all.splits.test);
    expect(five.splits.validation).toEqual(all.splits.validation);
    // Twins see the same split.
    expect(loadDataset('spam', 'classify', { labelsFraction: 0.05 }).splits.train).toEqual(five.splits.train);
  });

  it('refuses 0, more than 1, and corpora', () => {
    expect(() => loadDataset('spam', 'classify', { labelsFraction: 0 })).toThrow(/must be in \(0, 1\], got 0/);
    expect(() => loadDataset('spam', 'classify', { labelsFraction: 1.5 })).toThrow(DataError);
    expect(() => loadDataset('moby-dick', 'lm', { labelsFraction: 0.5 })).toThrow(/corpus for --task lm/);
  });
});

describe('--unlabeled sources', () => {
  const run = { data: 'spam', options: { limit: 300 } };

  it('JSONL and CSV without labels; with labels they are read and the labels ignored', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'a.jsonl'), '{"text":"win money"}\n\n{"text":"see you"}\n');
    writeFileSync(path.join(dir, 'b.jsonl'), '{"text":"win money","label":"spam"}\n');
    writeFileSync(path.join(dir, 'c.csv'), 'id,text\n1,"hello, there"\n2,"two\nlines"\n');
    writeFileSync(path.join(dir, 'd.csv'), 'text,label\nhi,ham\n');
    const a = loadUnlabeled(path.join(dir, 'a.jsonl'), 'classify', run);
    expect(a).toMatchObject({ kind: 'text', texts: ['win money', 'see you'], labelsIgnored: false });
    expect(loadUnlabeled(path.join(dir, 'b.jsonl'), 'classify', run).labelsIgnored).toBe(true);
    expect(loadUnlabeled(path.join(dir, 'c.csv'), 'classify', run)).toMatchObject({ texts: ['hello, there', 'two\nlines'], labelsIgnored: false });
    expect(loadUnlabeled(path.join(dir, 'd.csv'), 'classify', run)).toMatchObject({ texts: ['hi'], labelsIgnored: true });
  });

  it('plain-text lines, and IDX images with or without a labels file', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'lines.txt'), 'first mail\n\nsecond mail\n');
    expect(loadUnlabeled(path.join(dir, 'lines.txt'), 'classify', run).texts).toEqual(['first mail', 'second mail']);
    const images = path.join(dir, 'imgs');
    mkdirSync(images);
    writeFileSync(path.join(images, 'images.idx'), new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 51, 102, 0, 0, 0, 0]));
    const set = loadUnlabeled(images, 'image', { data: 'fashion-mnist', options: {} });
    expect(set).toMatchObject({ kind: 'image', shape: [1, 2, 2], labelsIgnored: false });
    expect([...set.images[0]!]).toEqual([...Float32Array.of(0, 1, 0.2, 0.4)]);
    writeFileSync(path.join(images, 'labels.idx'), new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 3, 4]));
    expect(loadUnlabeled(images, 'image', { data: 'fashion-mnist', options: {} }).labelsIgnored).toBe(true);
  });

  it('a built-in set: its training split with labels ignored, or what --labels-fraction withheld from the run\'s own data', () => {
    const other = loadUnlabeled('spam', 'classify', { data: 'elsewhere.jsonl', options: { limit: 50 } });
    expect(other).toMatchObject({ kind: 'text', labelsIgnored: true });
    expect(other.texts).toHaveLength(50);
    const own = loadUnlabeled('spam', 'classify', { data: 'spam', options: { labelsFraction: 0.05 } });
    const labelled = loadDataset('spam', 'classify', { labelsFraction: 0.05 });
    if (labelled.task !== 'classify') throw new Error('unreachable');
    const trainTexts = new Set((labelled.splits.train as TextExample[]).map((e) => e.text));
    expect(own.labelsIgnored).toBe(false);
    expect(own.texts.length).toBe(labelled.withheld!.length);
    expect(own.texts.filter((t) => trainTexts.has(t)).length).toBeLessThan(5); // only duplicate mails
    expect(() => loadUnlabeled('spam', 'classify', { data: 'spam', options: {} })).toThrow(/run's own --data.*--labels-fraction/);
  });

  it('the run\'s own --data file gives only its withheld training examples, never validation or test ones', () => {
    const dir = tmp();
    const file = path.join(dir, 'mails.jsonl');
    const mails = Array.from({ length: 400 }, (_, i) => JSON.stringify({ text: `mail number ${i} ${i % 3 ? 'see you at lunch' : 'WIN cash now'}`, label: i % 3 ? 'ham' : 'spam' }));
    writeFileSync(file, mails.join('\n') + '\n');
    const options = { labelsFraction: 0.25 };
    const data = loadDataset(file, 'classify', options);
    if (data.task !== 'classify') throw new Error('unreachable');
    // The same file by another spelling of its path.
    const own = loadUnlabeled(path.join(dir, '.', 'mails.jsonl'), 'classify', { data: file, options });
    expect(own.labelsIgnored).toBe(false);
    expect(own.texts.sort()).toEqual((data.withheld as TextExample[]).map((e) => e.text).sort());
    const heldOut = new Set([...data.splits.validation, ...data.splits.test].map((e) => (e as TextExample).text));
    expect(heldOut.size).toBeGreaterThan(0);
    expect(own.texts.filter((t) => heldOut.has(t))).toEqual([]);
    expect(() => loadUnlabeled(file, 'classify', { data: file, options: {} })).toThrow(/run's own --data.*--labels-fraction/);
  });

  it('IDX images under MNIST\'s own file names, the training images first', () => {
    const dir = tmp();
    const idx = (n: number, fill: number) => new Uint8Array([0, 0, 8, 3, 0, 0, 0, n, 0, 0, 0, 1, 0, 0, 0, 2, ...Array(n * 2).fill(fill)]);
    writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idx(1, 0));
    writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), idx(3, 255));
    writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), new Uint8Array([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]));
    const set = loadUnlabeled(dir, 'image', { data: 'fashion-mnist', options: {} });
    expect(set).toMatchObject({ kind: 'image', shape: [1, 1, 2], labelsIgnored: true });
    expect(set.images.map((x) => [...x])).toEqual([[1, 1], [1, 1], [1, 1]]);
  });

  it('refuses an empty set, the wrong kind of input, corpora and missing paths in one line', () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'empty.jsonl'), '\n');
    expect(() => loadUnlabeled(path.join(dir, 'empty.jsonl'), 'classify', run)).toThrow(/holds no examples/);
    expect(() => loadUnlabeled('spam', 'image', { data: 'fashion-mnist', options: {} })).toThrow(/spam/);
    writeFileSync(path.join(dir, 'text.txt'), 'a mail\n');
    expect(() => loadUnlabeled(path.join(dir, 'text.txt'), 'image', { data: 'fashion-mnist', options: {} })).toThrow(/holds text; the image teacher reads images/);
    expect(() => loadUnlabeled('moby-dick', 'classify', run)).toThrow(DataError);
    expect(() => loadUnlabeled(path.join(dir, 'nope.jsonl'), 'classify', run)).toThrow(/not found/);
    expect(() => loadUnlabeled('spam', 'lm', run)).toThrow(/language model/);
    expect(NO_LABEL).toBe(-100);
  });
});
