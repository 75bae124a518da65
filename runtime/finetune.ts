// model.finetune(): adapts a shipped student to its user's own examples on the device. The file
// carries the training step of its trainable part (`--finetunable`, src/format/finetune.ts); the
// app's ONNX Runtime runs it. Loaded only when an app calls finetune().
//
// The frozen part is fixed, so what it computes for each batch (the step's features) is computed
// once and kept for every epoch: a step then costs the trainable part alone. The batches keep their
// examples from epoch to epoch; their order is shuffled.
import { META, type ImagePreprocessing } from '../src/format/metadata.js';
import { FINETUNE_IO, FINETUNE_META, type FinetuneSpec } from '../src/format/finetune.js';
import { fromBase64 } from '../src/format/tokenizer.js';
import type { OrtSession, OrtTensor } from './load.js';
import { RuntimeInputError } from './model.js';
import type { AdaptableModel as Model } from './adaptable.js';
import { rewriteModel, runFile, weightOf } from './model-write.js';

export interface FinetuneExample { text?: string; pixels?: ArrayLike<number>; label: string }

export interface FinetuneOptions {
  /** Passes over the training examples (default 10). */
  epochs?: number;
  /** AdamW learning rate (default 1e-3). */
  lr?: number;
  /** Examples per step (default 8). */
  batchSize?: number;
  /** Share of the examples held out to check the model on (default 0.2; none below 5 examples). */
  heldOut?: number;
  /** Epochs in a row with held-out accuracy below the shipped weights' before stopping (default 2). */
  patience?: number;
  /** Shuffles examples the same way on every device (default 0). */
  seed?: number;
  /**
   * Inputs whose current verdicts the model must keep, say the user's other mails: labelled by the
   * model as it is now and trained on with the examples (never held out). Without them a few examples
   * that all point one way can move every verdict that way.
   */
  keep?: (string | ArrayLike<number>)[];
  signal?: AbortSignal;
  onProgress?: (progress: FinetuneProgress) => void;
}

export interface FinetuneProgress { epoch: number; epochs: number; step: number; loss: number; heldOut?: Score }
export interface Score { accuracy: number; loss: number }

export interface FinetuneReport {
  part: string;
  examples: number;
  /** Inputs of `keep`, trained on with the verdicts the model gave them before. */
  kept: number;
  heldOut: number;
  epochs: number;
  steps: number;
  stoppedEarly: boolean;
  /** On the held-out examples, with the weights before and after (absent with none held out). */
  before?: Score;
  after?: Score;
  /** Milliseconds: the frozen part's features for all batches, once; the mean training step. */
  ms: { features: number; step: number };
  weightsSha256?: string;
}

type Options = Required<Omit<FinetuneOptions, 'signal' | 'onProgress' | 'keep'>> & FinetuneOptions;
interface Batch { features: Record<string, OrtTensor>; labels: number[] }
interface Prepared { inputs: (string | ArrayLike<number>)[]; labels: number[] }

/** A random stream that is the same on every engine (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const next = random(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const dispose = (tensors: Iterable<OrtTensor>) => { for (const t of tensors) t.dispose?.(); };

/** The training step: its session, and the weights and AdamW state it carries from step to step. */
class Step {
  params = new Map<string, Float32Array>();
  private readonly state = new Map<string, Float32Array>();
  private t = 0;
  /** Each trained weight's dims (its moments have the same). */
  private readonly dims = new Map<string, number[]>();

  constructor(private readonly model: Model, readonly spec: FinetuneSpec, private readonly session: OrtSession) {
    for (const p of spec.params) this.params.set(p, weightOf(model.current.file, p));
    for (const s of spec.state) this.state.set(s.name, new Float32Array(this.params.get(s.param)!.length));
    for (const i of model.current.file.initializers) if (this.params.has(i.name)) this.dims.set(i.name, i.dims);
  }

  private tensor(weight: string, data: Float32Array): OrtTensor {
    return new this.model.ort.Tensor('float32', data, this.dims.get(weight)!);
  }

  /** Loss and logits for a batch; with lr > 0 the weights and state move one step. */
  async run(batch: Batch, lr: number): Promise<{ loss: number; logits: Float32Array }> {
    const { Tensor } = this.model.ort;
    const { beta1, beta2 } = this.spec.optimizer;
    const t = this.t + 1;
    const scalar = (v: number) => new Tensor('float32', Float32Array.of(v), []);
    const own: Record<string, OrtTensor> = {
      [FINETUNE_IO.labels]: new Tensor('int64', BigInt64Array.from(batch.labels, BigInt), [batch.labels.length]),
      [FINETUNE_IO.lr]: scalar(lr), [FINETUNE_IO.biasCorrection1]: scalar(1 / (1 - beta1 ** t)), [FINETUNE_IO.biasCorrection2]: scalar(1 / (1 - beta2 ** t)),
    };
    for (const [p, v] of this.params) own[p] = this.tensor(p, v);
    for (const s of this.spec.state) own[s.name] = this.tensor(s.param, this.state.get(s.name)!);
    const out = await this.session.run({ ...batch.features, ...own });
    const result = { loss: Number((out[FINETUNE_IO.loss]!.data as Float32Array)[0]), logits: (out[FINETUNE_IO.logits]!.data as Float32Array).slice() };
    if (lr > 0) {
      this.t = t;
      for (const p of this.spec.params) this.params.set(p, out[FINETUNE_IO.next(p)]!.data as Float32Array);
      for (const s of this.spec.state) this.state.set(s.name, out[FINETUNE_IO.next(s.name)]!.data as Float32Array);
    }
    // The new weights and state live on as the typed arrays taken above; the tensors are done with.
    dispose(Object.values(own));
    dispose(Object.values(out));
    return result;
  }
}

function prepare(model: Model, examples: FinetuneExample[]): Prepared {
  const labels = model.info.labels ?? [];
  if (!Array.isArray(examples) || examples.length === 0) throw new RuntimeInputError('finetune() needs a non-empty array of { text | pixels, label } examples');
  const image = model.pre?.kind === 'image';
  const prepared: Prepared = { inputs: [], labels: [] };
  examples.forEach((e, i) => {
    const input = image ? e?.pixels : e?.text;
    if (input === undefined) throw new RuntimeInputError(`finetune(): example ${i} has no ${image ? 'pixels' : 'text'}, which this model takes`);
    const k = labels.indexOf(e.label);
    if (k < 0) throw new RuntimeInputError(`finetune(): example ${i} has label '${e.label}'; this model's labels are ${labels.join(', ')}`);
    prepared.inputs.push(input);
    prepared.labels.push(k);
  });
  return prepared;
}

/** `keep`'s inputs with the labels the model gives them now, appended to `data`. */
async function appendKept(model: Model, data: Prepared, keep: (string | ArrayLike<number>)[] | undefined): Promise<number> {
  if (keep === undefined) return 0;
  if (!Array.isArray(keep)) throw new RuntimeInputError('finetune(): keep must be an array of inputs (texts or pixels)');
  const labels = model.info.labels!;
  for (let i = 0; i < keep.length; i += 32) {
    const inputs = keep.slice(i, i + 32);
    const verdicts = model.pre?.kind === 'image'
      ? await Promise.all(inputs.map((x) => model.classify(x as ArrayLike<number>)))
      : await model.classify(inputs.map((x, k) => {
        if (typeof x !== 'string') throw new RuntimeInputError(`finetune(): keep[${i + k}] is not a text, which this model takes`);
        return x;
      }));
    inputs.forEach((x, k) => { data.inputs.push(x); data.labels.push(labels.indexOf(verdicts[k]![0]!.label)); });
  }
  return keep.length;
}

function specOf(model: Model): FinetuneSpec {
  const json = model.info.metadata[FINETUNE_META.spec];
  if (!json || !model.info.metadata[FINETUNE_META.graph]) {
    throw new RuntimeInputError('this model has no training step: export it with `minnow compress <model> --finetunable head` (or last:N, all; train and distill take --finetunable too)');
  }
  const spec = JSON.parse(json) as FinetuneSpec;
  if (spec.format !== 1) throw new RuntimeInputError(`this model's training step is format ${spec.format}; this runtime reads format 1`);
  return spec;
}

function checkOptions(o: Options): void {
  const positive = (name: keyof Options, integer: boolean) => {
    const v = o[name] as number;
    if (!(Number.isFinite(v) && v > 0 && (!integer || Number.isInteger(v)))) throw new RuntimeInputError(`finetune(): ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(v)}`);
  };
  positive('epochs', true);
  positive('lr', false);
  positive('batchSize', true);
  positive('patience', true);
  if (!(o.heldOut >= 0 && o.heldOut < 1)) throw new RuntimeInputError(`finetune(): heldOut must be in [0, 1), got ${String(o.heldOut)}`);
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** Feeds for a batch of images, normalized as the model was trained (classify() takes one at a time). */
function imageFeeds(model: Model, images: ArrayLike<number>[]): Record<string, OrtTensor> {
  const pre = model.pre as ImagePreprocessing;
  const [c, h, w] = pre.shape, size = c * h * w;
  const data = new Float32Array(images.length * size);
  images.forEach((pixels, k) => {
    if (pixels.length !== size) throw new RuntimeInputError(`finetune(): expected ${c}x${h}x${w} = ${size} pixel values (0-255), got ${pixels.length}`);
    for (let i = 0; i < size; i++) data[k * size + i] = (pixels[i]! * pre.scale - pre.mean) / pre.std;
  });
  return { [model.info.inputs[0]!]: new model.ort.Tensor('float32', data, [images.length, c, h, w]) };
}

/** The examples `indices` names in batches, with what the frozen part computes for each. */
async function featureBatches(model: Model, spec: FinetuneSpec, data: Prepared, indices: number[], size: number): Promise<Batch[]> {
  const batches: Batch[] = [];
  for (let i = 0; i < indices.length; i += size) {
    const batch = indices.slice(i, i + size);
    const inputs = batch.map((k) => data.inputs[k]!);
    const feeds = model.pre?.kind === 'image' ? imageFeeds(model, inputs as ArrayLike<number>[]) : model.textFeeds(inputs as string[]);
    const out = await model.outputs(feeds, spec.features);
    dispose(Object.values(feeds));
    batches.push({ features: Object.fromEntries(spec.features.map((f) => [f, out[f]!])), labels: batch.map((k) => data.labels[k]!) });
  }
  return batches;
}

/** Accuracy and mean loss over batches, the weights left as they are. */
async function score(step: Step, batches: Batch[]): Promise<Score> {
  let loss = 0, hits = 0, n = 0;
  for (const b of batches) {
    const r = await step.run(b, 0);
    const classes = r.logits.length / b.labels.length;
    b.labels.forEach((label, row) => {
      const logits = r.logits.subarray(row * classes, (row + 1) * classes);
      if (logits.indexOf(Math.max(...logits)) === label) hits++;
    });
    loss += r.loss * b.labels.length;
    n += b.labels.length;
  }
  return { accuracy: hits / n, loss: loss / n };
}

/** The better of two held-out scores: more right, or as many right with a lower loss. */
const better = (s: Score, best: Score) => s.accuracy > best.accuracy || (s.accuracy === best.accuracy && s.loss < best.loss);

interface Outcome { params: Map<string, Float32Array>; epochs: number; steps: number; stoppedEarly: boolean; before?: Score; after?: Score; stepMs: number }

/** Epochs of steps; with held-out examples, the weights of the best held-out score (the shipped ones if none beats them). */
async function train(step: Step, batches: Batch[], held: Batch[], o: Options): Promise<Outcome> {
  const before = held.length ? await score(step, held) : undefined;
  let best = { score: before, params: new Map(step.params) };
  const outcome: Outcome = { params: step.params, epochs: 0, steps: 0, stoppedEarly: false, before, stepMs: 0 };
  for (let epoch = 1, worse = 0; epoch <= o.epochs; epoch++) {
    for (const batch of shuffled(batches, o.seed + epoch)) {
      o.signal?.throwIfAborted();
      const t0 = now();
      const r = await step.run(batch, o.lr);
      outcome.stepMs += now() - t0;
      outcome.steps++;
      o.onProgress?.({ epoch, epochs: o.epochs, step: outcome.steps, loss: r.loss });
    }
    outcome.epochs = epoch;
    if (!held.length) continue;
    const s = await score(step, held);
    o.onProgress?.({ epoch, epochs: o.epochs, step: outcome.steps, loss: s.loss, heldOut: s });
    if (better(s, best.score!)) best = { score: s, params: new Map(step.params) };
    // Worse than the shipped weights `patience` epochs in a row: stop, and keep the best seen.
    worse = s.accuracy < before!.accuracy ? worse + 1 : 0;
    if (worse >= o.patience) { outcome.stoppedEarly = true; break; }
  }
  if (held.length) Object.assign(outcome, { params: best.params, after: best.score });
  outcome.stepMs /= Math.max(1, outcome.steps);
  return outcome;
}

/** The provenance of the adapted file: the shipped one's, plus how this adaptation was made. */
function provenanceAfter(model: Model, spec: FinetuneSpec, o: Options, report: Omit<FinetuneReport, 'ms' | 'weightsSha256'>): string {
  const previous = JSON.parse(model.info.metadata[META.provenance] ?? '{}') as { adapted?: unknown[] };
  const adapted = {
    on: 'device', part: spec.part, examples: report.examples, kept: report.kept, held_out: report.heldOut, epochs: report.epochs, steps: report.steps, lr: o.lr,
    batch_size: o.batchSize, seed: o.seed, stopped_early: report.stoppedEarly, before: report.before, after: report.after,
    base_weights_sha256: model.info.metadata[META.weightsSha256], at: new Date().toISOString(),
  };
  return JSON.stringify({ ...previous, adapted: [...(previous.adapted ?? []), adapted] });
}

/** model.finetune(): see Model.finetune. */
export async function finetune(model: Model, examples: FinetuneExample[], options: FinetuneOptions): Promise<FinetuneReport> {
  const spec = specOf(model);
  const data = prepare(model, examples);
  const o: Options = { epochs: 10, lr: 1e-3, batchSize: 8, heldOut: 0.2, patience: 2, seed: 0, ...options };
  checkOptions(o);
  const order = shuffled(data.labels.map((_, i) => i), o.seed);
  const heldCount = order.length >= 5 && o.heldOut > 0 ? Math.min(order.length - 1, Math.max(1, Math.round(order.length * o.heldOut))) : 0;
  const examplesCount = data.labels.length;
  const kept = await appendKept(model, data, options.keep);
  const trainOrder = shuffled([...order.slice(heldCount), ...data.labels.slice(examplesCount).map((_, i) => examplesCount + i)], o.seed + 1);
  const held: Batch[] = [], batches: Batch[] = [];
  const session = await model.ort.InferenceSession.create(fromBase64(model.info.metadata[FINETUNE_META.graph]!), model.sessionOptions);
  try {
    const t0 = now();
    held.push(...await featureBatches(model, spec, data, order.slice(0, heldCount), o.batchSize));
    batches.push(...await featureBatches(model, spec, data, trainOrder, o.batchSize));
    const featuresMs = now() - t0;
    const outcome = await train(new Step(model, spec, session), batches, held, o);
    o.signal?.throwIfAborted();
    const report = {
      part: spec.part, examples: examplesCount, kept, heldOut: heldCount, epochs: outcome.epochs, steps: outcome.steps, stoppedEarly: outcome.stoppedEarly,
      before: outcome.before, after: outcome.after,
    };
    const { bytes, file } = await rewriteModel(model.current.bytes, outcome.params, { [META.provenance]: provenanceAfter(model, spec, o, report) });
    await runFile(model, bytes, file);
    return { ...report, ms: { features: featuresMs, step: outcome.stepMs }, weightsSha256: file.metadata[META.weightsSha256] };
  } finally {
    for (const b of [...held, ...batches]) dispose(Object.values(b.features));
    await session.release?.();
  }
}
