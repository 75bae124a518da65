// Batches of a data set's split as a model reads them: text through its tokenizer and context,
// images through its normalisation. Training builds them from the run's tokenizer and spec; eval
// builds them from what the model file says about itself.
import type { Dataset } from '../data/datasets.js';
import type { Split } from '../data/split.js';
import type { Tokenizer } from '../data/tokenizers/index.js';
import { ImageSource, LanguageModelSource, TextClassificationSource, type BatchSource } from '../data/batching.js';
import type { Preprocessing } from '../format/metadata.js';

/** How a model reads examples: its tokenizer and context (text), or its pixel normalisation (images). */
export interface Reader {
  tokenizer?: Tokenizer;
  ctx: number;
  normalize?: { mean: number; std: number };
}

export interface SplitSource {
  source: BatchSource;
  /** Language models: characters per token of the split (for bits per character). */
  charsPerToken?: number;
}

/** The reader a model file's preprocessing and tokenizer describe. */
export function readerOf(preprocessing: Preprocessing, tokenizer: Tokenizer | undefined): Reader {
  return preprocessing.kind === 'image'
    ? { ctx: 0, normalize: { mean: preprocessing.mean, std: preprocessing.std } }
    : { tokenizer, ctx: preprocessing.max_length };
}

/**
 * The batches of one split. With `augment` (training), texts keep up to 4 contexts' worth of
 * tokens, so that batches can show the model random windows of long texts.
 */
export function splitSource(data: Dataset, split: Split, reader: Reader, augment = false): SplitSource {
  if (data.task === 'image') return { source: new ImageSource(data.splits[split], data.shape, reader.normalize ?? data.normalize) };
  const tokenizer = reader.tokenizer;
  if (!tokenizer) throw new Error(`reading the text of '${data.name}' needs a tokenizer`);
  if (data.task === 'lm') {
    const text = data.splits[split];
    const tokens = Int32Array.from(tokenizer.encode(text));
    return { source: new LanguageModelSource(tokens, reader.ctx), charsPerToken: text.length / Math.max(1, tokens.length) };
  }
  const examples = data.splits[split];
  const reach = augment ? 4 * reader.ctx : reader.ctx;
  return { source: new TextClassificationSource(examples.map((e) => tokenizer.encode(e.text, reach)), examples.map((e) => e.label), tokenizer.padId, reader.ctx) };
}
