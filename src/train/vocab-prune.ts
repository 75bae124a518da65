// `distill --vocab-prune`: the student reads text with its teacher's tokenizer cut down to the
// tokens its training split uses, so that a 32,000-token vocabulary does not fill a small student
// with embedding rows and logits it never trains (src/data/tokenizers/prune.ts).
import type { Dataset } from '../data/datasets.js';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizers/index.js';
import { pruneTokenizer } from '../data/tokenizers/prune.js';
import { buildModel, type ArchConfig, type ModelShape } from '../nn/models.js';

/** What pruning kept, for the log and report.json. */
export interface VocabPrune {
  teacher_vocab: number;
  /** Tokens of the teacher's vocabulary that occur in the training split. */
  occurring: number;
  /** The student's vocabulary: those, plus what the tokenizer needs to read the same text alike. */
  student_vocab: number;
}

/**
 * The tokenizer cut to the ids its training examples read to, exactly as the run reads them
 * (classification texts to `reach` tokens).
 */
export function pruneToTrainingSplit(data: Exclude<Dataset, { task: 'image' }>, full: Tokenizer, reach: number): { tokenizer: Tokenizer; prune: VocabPrune } {
  const occurring = new Set<number>();
  const add = (ids: number[]) => { for (const id of ids) occurring.add(id); };
  if (data.task === 'lm') add(full.encode(data.splits.train));
  else for (const e of data.splits.train) add(full.encode(e.text, reach));
  const pruned = pruneTokenizer(full.toJSON(), occurring);
  const tokenizer = tokenizerFromJSON(pruned.json);
  return { tokenizer, prune: { teacher_vocab: full.vocabSize, occurring: pruned.occurring, student_vocab: tokenizer.vocabSize } };
}

/** Parameters the student saves by pruning: its size with the teacher's whole vocabulary, less its own. */
export function paramsSaved(arch: ArchConfig, shape: ModelShape, prune: VocabPrune, params: number): number {
  const unpruned = buildModel(arch, { ...shape, vocabSize: prune.teacher_vocab }, { seed: 0 }).graph.paramCount();
  return unpruned - params;
}
