// Examples without labels, for a teacher to label (distill --unlabeled): a built-in data set's
// training split with its labels ignored (or, for the run's own data with --labels-fraction, the
// training examples whose labels it set aside), JSONL or CSV without a label field, plain-text lines,
// or IDX images without a labels file.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Task } from '../format/metadata.js';
import { BUILTIN_DATASETS, DataError, isIdxPath, loadDataset, parseCsvRecords, taskOfData, type Dataset, type ImageExample, type LoadOptions, type TextExample } from './datasets.js';
import { readIdx } from './idx.js';

/** The label of an example nobody labelled: the hard loss skips it (PyTorch's ignore_index). */
export const NO_LABEL = -100;

export interface UnlabeledSet {
  name: string;
  kind: 'text' | 'image';
  texts: string[];
  /** [c, h, w] pixels in [0, 1], as ImageExample holds them. */
  images: Float32Array[];
  shape?: [number, number, number];
  /** The source did carry labels; they are ignored. */
  labelsIgnored: boolean;
}

const empty = (name: string, kind: UnlabeledSet['kind']): UnlabeledSet => ({ name, kind, texts: [], images: [], labelsIgnored: false });

function setOf(name: string, data: Dataset, pool: (TextExample | ImageExample)[], labelsIgnored: boolean): UnlabeledSet {
  if (data.task === 'image') return { ...empty(name, 'image'), images: (pool as ImageExample[]).map((e) => e.pixels), shape: data.shape, labelsIgnored };
  return { ...empty(name, 'text'), texts: (pool as TextExample[]).map((e) => e.text), labelsIgnored };
}

/** The run's labelled data: its name or path, how it is read, and (where the run has read it) the data itself. */
export interface LabelledData { data: string; options: LoadOptions; loaded?: Dataset }

/** The run's own --data (a name or the same path): the training examples whose labels --labels-fraction set aside. */
function withheld(source: string, task: Task, labelled: LabelledData): UnlabeledSet {
  if ((labelled.options.labelsFraction ?? 1) === 1) throw new DataError(`--unlabeled ${source} is the run's own --data, whose labels it uses; give --labels-fraction to set some aside`);
  const data = labelled.loaded ?? loadDataset(labelled.data, task, labelled.options);
  if (data.task === 'lm') throw new Error('unreachable: a classification or image set loaded as a corpus');
  return setOf(source, data, data.withheld ?? [], false);
}

/** A built-in set's training split, its labels ignored. */
function builtin(source: string, options: LoadOptions): UnlabeledSet {
  const task = taskOfData(source);
  if (task === 'lm') throw new DataError(`--unlabeled ${source}: a corpus has no examples to label; give classification or image data`);
  const data = loadDataset(source, task, { ...options, labelsFraction: undefined });
  if (data.task === 'lm') throw new Error('unreachable: a classification or image set loaded as a corpus');
  return setOf(source, data, data.splits.train, true);
}

function jsonl(file: string): UnlabeledSet {
  const set = empty(path.basename(file), 'text');
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let o: { text?: unknown; label?: unknown };
    try { o = JSON.parse(line) as typeof o; } catch (err) { throw new DataError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`); }
    if (typeof o?.text !== 'string') throw new DataError(`${file}:${i + 1}: each line needs {"text": string}`);
    set.texts.push(o.text);
    if (o.label !== undefined) set.labelsIgnored = true;
  });
  return set;
}

function csv(file: string): UnlabeledSet {
  const records = parseCsvRecords(readFileSync(file, 'utf8'));
  const header = records.shift()?.map((h) => h.trim().toLowerCase()) ?? [];
  const ti = header.indexOf('text');
  if (ti < 0) throw new DataError(`${file}: the header row must name a 'text' column`);
  const rows = records.filter((r) => r.length > 1 || r[0] !== '');
  return { ...empty(path.basename(file), 'text'), texts: rows.map((r) => r[ti] ?? ''), labelsIgnored: header.includes('label') };
}

const IMAGES = /(images\.idx|images-idx3-ubyte)(\.gz)?$/;
const LABELS = /(labels\.idx|labels-idx1-ubyte)(\.gz)?$/;

/** An IDX images file, or a directory holding images.idx(.gz); a labels file beside them is ignored. */
function idx(source: string): UnlabeledSet {
  const isDir = statSync(source).isDirectory();
  const dir = isDir ? source : path.dirname(source);
  // MNIST's own names too (train-images-idx3-ubyte.gz), the training images before t10k's.
  const candidates = readdirSync(dir).filter((f) => IMAGES.test(f)).sort((a, b) => Number(b.includes('train')) - Number(a.includes('train')));
  const file = isDir ? (candidates[0] && path.join(dir, candidates[0])) : source;
  if (!file) throw new DataError(`${source}: no images.idx or *-images-idx3-ubyte (or .gz) found`);
  const x = readIdx(file);
  const [n, h, w] = x.dims as [number, number, number];
  const images = Array.from({ length: n }, (_, i) => Float32Array.from(x.data.subarray(i * h * w, (i + 1) * h * w) as Uint8Array, (v) => v / 255));
  const labelsIgnored = readdirSync(dir).some((f) => LABELS.test(f));
  return { ...empty(path.basename(source), 'image'), images, shape: [1, h, w], labelsIgnored };
}

function fromFile(source: string): UnlabeledSet {
  if (!existsSync(source)) throw new DataError(`--unlabeled ${source} not found: give a built-in name (${BUILTIN_DATASETS.join(', ')}) or a .jsonl, .csv, .txt or IDX path`);
  if (isIdxPath(source)) return idx(source);
  const ext = path.extname(source).toLowerCase();
  if (ext === '.jsonl' || ext === '.json') return jsonl(source);
  if (ext === '.csv') return csv(source);
  const texts = readFileSync(source, 'utf8').split('\n').filter((l) => l.trim());
  return { ...empty(path.basename(source), 'text'), texts };
}

/** The unlabelled examples of `source`, checked against the kind of input the run's task reads. */
export function loadUnlabeled(source: string, task: Task, labelled: LabelledData): UnlabeledSet {
  if (task === 'lm') throw new DataError('--unlabeled: a language model has no labels to miss; add the text to its --data');
  const wanted = task === 'image' ? 'image' : 'text';
  const mismatch = (kind: UnlabeledSet['kind']) => new DataError(`--unlabeled ${source} holds ${kind === 'image' ? 'images' : 'text'}; the ${task} teacher reads ${wanted === 'image' ? 'images' : 'text'}`);
  const isBuiltin = (BUILTIN_DATASETS as readonly string[]).includes(source);
  // A built-in set's kind is known before its (large) files are read.
  if (isBuiltin && (taskOfData(source) === 'image') !== (wanted === 'image')) throw mismatch(wanted === 'image' ? 'text' : 'image');
  // The --data file itself would bring its validation and test inputs into training.
  const own = source === labelled.data || (existsSync(source) && existsSync(labelled.data) && path.resolve(source) === path.resolve(labelled.data));
  const set = own ? withheld(source, task, labelled) : isBuiltin ? builtin(source, labelled.options) : fromFile(source);
  if (set.kind !== wanted) throw mismatch(set.kind);
  if (set.texts.length + set.images.length === 0) throw new DataError(`--unlabeled ${source} holds no examples`);
  return set;
}
