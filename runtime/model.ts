// A loaded model: classify text or images with the model's own tokenizer and preprocessing, or run
// raw tensors when the file carries no minnow metadata.
import { tokenizerFromJSON, type Tokenizer } from '../src/data/tokenizers/index.js';
import { META, labelsOf, preprocessingOf, type ImagePreprocessing, type Preprocessing, type TextPreprocessing } from '../src/format/metadata.js';
import { INPUT, OUTPUT, cachedLayers } from '../src/format/names.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';
import type { ModelFile } from './model-file.js';
import type { OrtLike, OrtSession, OrtTensor } from './load.js';
import { generateTokens, type GenerateOptions } from './generate.js';

export interface Prediction { label: string; score: number }

export class RuntimeInputError extends Error {
  override name = 'RuntimeInputError';
}

export interface ModelInfo {
  task?: string;
  labels?: string[];
  inputs: readonly string[];
  outputs: readonly string[];
  metadata: Record<string, string>;
  /** The weights' verified sha256, when the file carries one. */
  sha256?: string;
  /**
   * minnow/micro only: bytes of weights as held, and the most bytes a run's values held at once over
   * the runs so far (read it after a run of the size you care about).
   */
  readonly memory?: { weights: number; peakActivations: number };
}

export class Model {
  readonly info: ModelInfo;
  private readonly tokenizer?: Tokenizer;
  /** @internal */
  readonly pre?: Preprocessing;
  private disposed = false;

  private readonly inputShapes: Record<string, (number | string)[]>;

  constructor(
    /** @internal */ readonly ort: OrtLike, /** @internal */ public session: OrtSession, file: ModelFile, sha256: string | undefined,
    private readonly truncation: 'error' | 'right',
  ) {
    this.inputShapes = file.inputShapes;
    const m = file.metadata;
    this.info = { task: m[META.task], labels: labelsOf(m), inputs: session.inputNames, outputs: session.outputNames, metadata: m, sha256 };
    // Read through to the session: its peak grows with the runs.
    if (session.memory) Object.defineProperty(this.info, 'memory', { get: () => session.memory, enumerable: true });
    const tokenizer = tokenizerJsonOf(m);
    if (tokenizer) this.tokenizer = tokenizerFromJSON(tokenizer);
    this.pre = preprocessingOf(m);
  }

  /** @internal */
  check(): void {
    if (this.disposed) throw new RuntimeInputError('this model was disposed');
  }

  /** Raw tensors in, raw tensors out: works for any ONNX model. */
  async run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>> {
    this.check();
    return this.session.run(feeds);
  }

  /** Ranked labels for one input, or for each of an array of texts. */
  async classify(input: string, options?: { topK?: number }): Promise<Prediction[]>;
  async classify(input: string[], options?: { topK?: number }): Promise<Prediction[][]>;
  async classify(input: ArrayLike<number>, options?: { topK?: number }): Promise<Prediction[]>;
  async classify(input: string | string[] | ArrayLike<number>, options: { topK?: number } = {}): Promise<Prediction[] | Prediction[][]> {
    this.check();
    const labels = this.info.labels;
    if (Array.isArray(input) && input.length === 0) throw new RuntimeInputError('classify() got an empty array');
    const single = !(Array.isArray(input) && typeof input[0] === 'string');
    if (!labels || !this.pre) throw new RuntimeInputError('this model has no labels or preprocessing metadata: use model.run() with raw tensors');
    let logits: Float32Array, rows: number;
    if (typeof input === 'string' || Array.isArray(input) && typeof input[0] === 'string') {
      const texts = typeof input === 'string' ? [input] : (input as string[]);
      if (texts.length === 0) throw new RuntimeInputError('classify() got an empty array');
      ({ logits, rows } = await this.classifyTexts(texts));
    } else if (input && typeof (input as ArrayLike<number>).length === 'number' && typeof input !== 'string') {
      ({ logits, rows } = await this.classifyImage(input as ArrayLike<number>));
    } else {
      throw new RuntimeInputError(`classify() takes a string, an array of strings, or pixels; got ${typeof input}`);
    }
    const k = Math.min(options.topK ?? labels.length, labels.length);
    const out: Prediction[][] = [];
    for (let r = 0; r < rows; r++) {
      const row = logits.subarray(r * labels.length, (r + 1) * labels.length);
      const max = Math.max(...row);
      const exps = Array.from(row, (v) => Math.exp(v - max));
      const sum = exps.reduce((a, b) => a + b, 0);
      out.push(exps.map((e, i) => ({ label: labels[i]!, score: e / sum })).sort((a, b) => b.score - a.score).slice(0, k));
    }
    return single ? out[0]! : out;
  }

  /**
   * Feature vectors (the model's `embeddings` output: the pooled representation its head reads),
   * one per input.
   */
  async embed(input: string | string[] | ArrayLike<number>): Promise<Float32Array[]> {
    this.check();
    if (!this.info.outputs.includes(OUTPUT.embeddings)) throw new RuntimeInputError('this model exposes no embeddings output');
    if (Array.isArray(input) && input.length === 0) throw new RuntimeInputError('embed() got an empty array');
    const out = typeof input === 'string' || (Array.isArray(input) && typeof input[0] === 'string')
      ? await this.runTexts(typeof input === 'string' ? [input] : (input as string[]))
      : await this.runImage(input as ArrayLike<number>);
    const e = out[OUTPUT.embeddings]!;
    const rows = e.dims[0]!, width = e.dims[e.dims.length - 1]!;
    const data = e.data as Float32Array;
    return Array.from({ length: rows }, (_, r) => data.slice(r * width, (r + 1) * width));
  }

  private get logitsName(): string {
    return this.info.outputs.includes(OUTPUT.logits) ? OUTPUT.logits : this.info.outputs[0]!;
  }

  private logitsOf(out: Record<string, OrtTensor>): Float32Array {
    return out[this.logitsName]!.data as Float32Array;
  }

  private async classifyTexts(texts: string[]): Promise<{ logits: Float32Array; rows: number }> {
    return { logits: this.logitsOf(await this.runTexts(texts)), rows: texts.length };
  }

  private async classifyImage(pixels: ArrayLike<number>): Promise<{ logits: Float32Array; rows: number }> {
    return { logits: this.logitsOf(await this.runImage(pixels)), rows: 1 };
  }

  private async runTexts(texts: string[]): Promise<Record<string, OrtTensor>> {
    return this.session.run(this.textFeeds(texts));
  }

  /** @internal Feeds for a batch of texts, padded to the longest. */
  textFeeds(texts: string[]): Record<string, OrtTensor> {
    const pre = this.pre as TextPreprocessing;
    if (pre.kind !== 'text' || !this.tokenizer) throw new RuntimeInputError('this model does not take text');
    const ids = texts.map((t, i) => {
      if (typeof t !== 'string') throw new RuntimeInputError(`classify(): item ${i} is not a string`);
      if (t.length === 0) throw new RuntimeInputError(`classify(): text ${i} is empty`);
      // One token past the context is enough to know the text is too long.
      const tokens = this.tokenizer!.encode(t, pre.max_length + 1);
      if (tokens.length > pre.max_length) {
        if (this.truncation === 'error') throw new RuntimeInputError(`text ${i} has more than the model's ${pre.max_length} tokens; load with { truncation: 'right' } to cut it`);
        return tokens.slice(0, pre.max_length);
      }
      return tokens;
    });
    const len = Math.max(...ids.map((x) => x.length));
    const data = new BigInt64Array(ids.length * len).fill(BigInt(pre.pad_id));
    const mask = new BigInt64Array(ids.length * len);
    ids.forEach((row, r) => row.forEach((id, t) => { data[r * len + t] = BigInt(id); mask[r * len + t] = 1n; }));
    const feeds: Record<string, OrtTensor> = { [INPUT.ids]: new this.ort.Tensor('int64', data, [ids.length, len]) };
    if (this.info.inputs.includes(INPUT.mask)) feeds[INPUT.mask] = new this.ort.Tensor('int64', mask, [ids.length, len]);
    return feeds;
  }

  private async runImage(pixels: ArrayLike<number>): Promise<Record<string, OrtTensor>> {
    const pre = this.pre as ImagePreprocessing;
    if (pre.kind !== 'image') throw new RuntimeInputError('this model does not take images');
    const [c, h, w] = pre.shape;
    if (pixels.length !== c * h * w) throw new RuntimeInputError(`expected ${c}x${h}x${w} = ${c * h * w} pixel values (0-255), got ${pixels.length}`);
    const data = new Float32Array(c * h * w);
    for (let i = 0; i < data.length; i++) data[i] = (pixels[i]! * pre.scale - pre.mean) / pre.std;
    return this.session.run({ [this.info.inputs[0]!]: new this.ort.Tensor('float32', data, [1, c, h, w]) });
  }

  /**
   * Generated text, piece by piece, for language models. Uses the KV cache when the file is a
   * decoder with past keys/values (decoder.onnx), else re-runs the sequence each step.
   */
  generate(prompt: string, options: GenerateOptions = {}): AsyncGenerator<string> {
    this.check();
    if (this.info.task !== 'lm' || !this.tokenizer || this.pre?.kind !== 'text') throw new RuntimeInputError('generate() needs a language model with a tokenizer');
    if (typeof prompt !== 'string') throw new RuntimeInputError('generate() takes a string prompt');
    return generateTokens({
      ort: this.ort, session: this.session, tokenizer: this.tokenizer, inputs: this.info.inputs, inputShapes: this.inputShapes,
      ctx: this.pre.max_length, logitsName: this.logitsName,
    }, prompt, options);
  }

  /** Whether generate() runs with a KV cache. */
  get hasKvCache(): boolean { return cachedLayers(this.info.inputs) > 0; }

  async warmup(): Promise<void> {
    if (this.info.task === 'lm') return;
    if (!this.pre || !this.info.labels) return;
    if (this.pre.kind === 'text' && this.tokenizer) await this.classifyTexts(['warm-up']);
    else if (this.pre.kind === 'image') await this.classifyImage(new Float32Array(this.pre.shape.reduce((a, b) => a * b, 1)));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release?.();
  }
}
