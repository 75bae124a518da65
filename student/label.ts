// `minnow teacher label`: the soft labels of a data set, put in the soft-label cache by every
// replica of a teacher at once, so that `minnow distill --offline` (any number of runs, seeds and
// epochs) trains from them with no teacher running. The examples are read exactly as the student
// will read them (its context, the teacher's tokenizer or its pruned copy), since the cache is keyed
// by the inputs the teacher saw.
import type { Task } from '../src/format/metadata.js';
import type { TeacherHooks } from '../src/train/job.js';
import { prepareData, resolveRun } from '../src/train/run.js';
import { iterateBatches } from '../src/data/batching.js';
import type { Split } from '../src/data/split.js';
import { checkTokenizer, openSource, presetFor, type DistillOptions } from './distill.js';
import type { SoftLabelSource } from './soft-label-source.js';

export type LabelOptions = Pick<DistillOptions, 'teachers' | 'token' | 'ca' | 'teacherId' | 'data' | 'student' | 'temperature' | 'topK' | 'sample' |
  'cacheDir' | 'prefetch' | 'unlabeled' | 'dataOptions' | 'vocabPrune' | 'batch'> & {
  /** Examples labelled so far, of all (training and validation splits). */
  onProgress?: (done: number, total: number) => void;
  onLog?: (message: string) => void;
};

export interface LabelReport {
  teacher_id: string;
  task: string;
  /** The student these labels fit: its spec fixes the context the examples are cut to. */
  student: string;
  temperature: number;
  top_k: number;
  examples: Record<'train' | 'validation', number>;
  /** Examples the teachers answered now, and those the cache held already. */
  labelled: number;
  cached: number;
  seconds: number;
  examples_per_second: number;
}

const SPLITS: Split[] = ['train', 'validation'];

export async function label(options: LabelOptions): Promise<LabelReport> {
  if (!options.teachers?.length) throw new Error('teacher label needs --teacher URL (one per replica)');
  const source = (await openSource({ ...options, out: '' }, undefined, false))!;
  try {
    const task = source.info.task as Task;
    checkTokenizer(source, task);
    const student = options.student ?? presetFor(task, source.info.limits.max_seq);
    const hooks: TeacherHooks = {
      tokenizerJson: source.info.tokenizer, labels: source.info.labels, maxSeq: source.info.limits.max_seq, softLabels: source,
      studentTokenizer: (json) => source.useStudentTokenizer(json),
    };
    const run = await resolveRun({ task, data: options.data, model: student, out: '', batch: options.batch, dataOptions: options.dataOptions, unlabeled: options.unlabeled, vocabPrune: options.vocabPrune, teacher: hooks });
    const data = prepareData(run, hooks, options.onLog ?? (() => {}));
    const examples = { train: data.splits.train.source.size, validation: data.splits.validation.source.size };
    const started = Date.now();
    let done = 0;
    for (const split of SPLITS) {
      const batches = iterateBatches(data.splits[split].source, { batchSize: run.config.batch, seed: 0, epoch: 0, shuffle: false });
      done = await labelAll(source, batches, done, examples.train + examples.validation, options.onProgress);
    }
    await source.flush();
    const seconds = (Date.now() - started) / 1000;
    return {
      teacher_id: source.info.teacher_id, task, student, temperature: source.temperature, top_k: source.topK, examples,
      labelled: source.stats.misses, cached: source.stats.hits, seconds, examples_per_second: done / Math.max(seconds, 1e-9),
    };
  } finally {
    await source.close();
  }
}

async function labelAll(source: SoftLabelSource, batches: Iterable<Parameters<SoftLabelSource['forBatch']>[0]>, done: number, total: number, onProgress: LabelOptions['onProgress']): Promise<number> {
  for (const { batch, soft } of source.attach(batches)) {
    await soft;
    done += batch.labels!.dims[0]!;
    onProgress?.(done, total);
  }
  return done;
}
