// One training step is one session.run of a graph holding forward, loss, backward, clipping and the
// optimizer update. The trainer owns the parameter and optimizer-state tensors between steps.
import type { InferenceSession } from 'onnxruntime-node';
import type { BuiltModel, Task } from '../nn/models.js';
import type { Graph } from '../onnx/graph.js';
import { lowerForOnnxruntime } from '../onnx/lower.js';
import { encodeModel } from '../onnx/codec.js';
import { createSession, run, runInto, type Device, type SessionOptions } from '../onnx/runtime.js';
import { Tensor } from '../onnx/tensor.js';
import { grad } from '../autodiff/grad.js';
import { blockSegments } from '../nn/transformer-block.js';
import { SpecError } from '../nn/spec.js';
import { crossEntropy } from './losses.js';
import { appendOptimizer, clipByGlobalNorm, type OptimizerConfig } from './optimizers.js';
import { warmupCosine } from './schedule.js';
import { stampWeightsDigest } from '../onnx/digest.js';
import { magnitudeMask, magnitudeThreshold } from '../compress/prune/magnitude.js';
import type { FakeQuantizer } from '../compress/quantize/schemes.js';
import { inPlacePairs, type UpdatePair } from './in-place.js';
import { collectGarbage } from '../util/gc.js';

export type Batch = Record<string, Tensor>;

export interface TrainerOptions {
  task: Task;
  optimizer: OptimizerConfig;
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  maxGradNorm?: number;
  labelSmoothing?: number;
  device?: Device;
  threads?: number;
  /**
   * Recompute each Transformer block's activations in the backward pass from the block's input
   * instead of keeping them (activation checkpointing): less memory, one more forward pass of the blocks.
   */
  recompute?: boolean;
  /**
   * onnxruntime's memory arena (default on), memory pattern (default off), graph optimization level
   * and inter-op threads for the training and evaluation sessions (bench/train-options.ts).
   */
  session?: Pick<SessionOptions, 'arena' | 'memoryPattern' | 'optimization' | 'interOpThreads'>;
  /**
   * onnxruntime writes the new parameters and optimizer state into the memory of the old ones
   * instead of new memory (default on; in-place.ts). Off only to compare against.
   */
  inPlace?: boolean;
  /**
   * Builds the training loss from the model's logits and the labels input (default: cross-entropy).
   * It may declare more graph inputs (a teacher's soft labels); the batches fed must carry them.
   */
  buildLoss?: (g: Graph, logits: string, labels: string) => string;
  /**
   * Weights to prune: each gets a 0/1 mask input that multiplies its update, so pruned weights
   * stay zero. Masks change through setSparsity().
   */
  prunable?: (g: Graph, params: string[]) => string[];
  /**
   * Quantization-aware training: weights the forward pass sees fake-quantized (given the forward
   * graph, which weights and how). The weight gets the gradient of its quantized value (straight-
   * through estimator); evaluation and export use the quantized values.
   */
  fakeQuant?: (forward: Graph) => Map<string, FakeQuantizer>;
}

export interface StepResult { loss: number; gradNorm: number; lr: number }

export interface EvalResult {
  /** Mean cross-entropy per target (per label, or per predicted token). */
  loss: number;
  /** Fraction of correct argmax predictions (classification tasks). */
  accuracy?: number;
  targets: number;
  /** Argmax prediction per target, in batch order (when asked for). */
  predictions?: Int32Array;
}

/** Builds the forward model; `training` adds dropout. Called once per graph the trainer needs. */
export type ModelBuilder = (training: boolean) => BuiltModel;

/** Weights and state above this size are worth a garbage collection after each step (trainStep). */
const GC_AFTER_STEP_BYTES = 32 * 2 ** 20;

const labelShape = (task: Task) => (task === 'lm' ? ['batch', 'seq'] : ['batch']);

/** Consumers of weight `p` read p + qdelta.p instead (qdelta fed each step); gradients pass straight through to p. */
function readQuantized(g: Graph, p: string): void {
  const delta = g.input(`qdelta.${p}`, 'float32', g.shape(p));
  const quantized = g.op1('Add', [p, delta], {}, { name: `fake_quant.${p}` });
  const add = g.nodes.pop()!;
  for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === p ? quantized : i));
  g.nodes.unshift(add); // its inputs are graph inputs: first keeps the node list in order
}

export class Trainer {
  step = 0;
  readonly params: Map<string, Tensor>;
  readonly state: Map<string, Tensor>;

  private constructor(
    private readonly options: TrainerOptions,
    private readonly trainSession: InferenceSession,
    private readonly evalSession: InferenceSession,
    private readonly layout: {
      params: string[];
      nextParams: Map<string, string>;
      state: { name: string; next: string }[];
      scalars: string[];
      loss: string;
      gradNorm: string;
      evalLoss: string;
      evalCorrect?: string;
      evalPredicted: string;
      /** Updates written into their input's memory (input: the parameter or state slot). */
      inPlace: UpdatePair[];
    },
    initialParams: Map<string, Tensor>,
    initialState: Map<string, Tensor>,
    readonly exportGraph: BuiltModel,
  ) {
    this.params = initialParams;
    this.state = initialState;
    // The shapes never change, so neither does what a step leaves behind.
    let bytes = 0;
    for (const t of [...initialParams.values(), ...initialState.values()]) bytes += t.data.byteLength;
    this.collectAfterStep = bytes >= GC_AFTER_STEP_BYTES;
  }

  /** Whether a step's copies are large enough to collect at once (trainStep). */
  private readonly collectAfterStep: boolean;

  static async create(build: ModelBuilder, options: TrainerOptions): Promise<Trainer> {
    const exported = build(false);
    const fakeQuant = options.fakeQuant?.(exported.graph) ?? new Map<string, FakeQuantizer>();
    // Training graph: parameters become inputs, updated parameters become outputs.
    const train = build(true);
    const g = train.graph;
    const params = [...g.params];
    const initialParams = new Map(params.map((p) => [p, g.initializers.get(p)!]));
    for (const p of params) g.initializerToInput(p);
    for (const p of fakeQuant.keys()) readQuantized(g, p);
    const labels = g.input('labels', 'int64', labelShape(options.task));
    const loss = options.buildLoss
      ? options.buildLoss(g, train.logits, labels)
      : crossEntropy(g, train.logits, labels, { labelSmoothing: options.labelSmoothing });
    const segments = options.recompute ? blockSegments(g.nodes) : undefined;
    if (segments?.length === 0) throw new SpecError('--recompute recomputes Transformer blocks, and this model has none; drop --recompute');
    const grads = grad(g, loss, params, { recompute: segments });
    const clipped = clipByGlobalNorm(g, grads, options.maxGradNorm ?? 1);
    const opt = appendOptimizer(g, params, clipped.grads, options.optimizer);
    const prunable = options.prunable?.(g, params) ?? [];
    for (const p of prunable) {
      const mask = g.input(`mask.${p}`, 'float32', g.shape(p));
      opt.nextParams.set(p, g.op1('Mul', [opt.nextParams.get(p)!, mask], {}, { name: `masked.${p}` }));
    }
    g.outputs.length = 0;
    g.output(loss);
    g.output(clipped.norm);
    for (const p of params) g.output(opt.nextParams.get(p)!);
    for (const s of opt.state) g.output(s.next);

    // Evaluation graph: same forward (no dropout), parameters fed in, summed loss and hit count out.
    const evalModel = build(false);
    const e = evalModel.graph;
    for (const p of params) e.initializerToInput(p);
    for (const p of fakeQuant.keys()) readQuantized(e, p);
    const evalLabels = e.input('labels', 'int64', labelShape(options.task));
    const evalLoss = crossEntropy(e, evalModel.logits, evalLabels, { reduction: 'sum' });
    e.outputs.length = 0;
    e.output(evalLoss);
    let evalCorrect: string | undefined;
    const predicted = e.output(e.op1('ArgMax', [evalModel.logits], { axis: -1, keepdims: 0 }, { name: 'predicted' }));
    if (options.task !== 'lm') {
      evalCorrect = e.output(e.op1('ReduceSum', [e.op1('Cast', [e.op1('Equal', [predicted, evalLabels])], { to: 7 })], { keepdims: 0 }, { name: 'correct' }));
    }

    lowerForOnnxruntime(g);
    lowerForOnnxruntime(e);
    const updates = [...params.map((p) => ({ input: p, output: opt.nextParams.get(p)! })), ...opt.state.map((s) => ({ input: s.name, output: s.next }))];
    const inPlace = options.inPlace === false ? [] : inPlacePairs(g, updates);
    // No memory pattern by default: on the training graphs it kept a second plan of every
    // intermediate, 360 to 480 MB more at peak for no gain in speed (bench/train-memory.ts).
    const sessionOptions = { ...options.session, device: options.device, threads: options.threads, memoryPattern: options.session?.memoryPattern ?? false };
    const [trainSession, evalSession] = await Promise.all([
      createSession(encodeModel(g), sessionOptions),
      createSession(encodeModel(e), sessionOptions),
    ]);
    const initialState = new Map(opt.state.map((s) => [s.name, s.init]));
    // The export graph holds no weights of its own (exportModel gives it the trainer's): a copy of
    // the initial ones would stay alive for the whole run.
    for (const p of params) { exported.graph.initializers.delete(p); exported.graph.constants.delete(p); }
    const trainer = new Trainer(options, trainSession, evalSession, {
      // The slots without their initial values: the layout lives as long as the trainer.
      params, nextParams: opt.nextParams, state: opt.state.map(({ name, next }) => ({ name, next })), scalars: opt.scalars, loss, gradNorm: clipped.norm, evalLoss, evalCorrect,
      evalPredicted: predicted, inPlace,
    }, initialParams, initialState, exported);
    trainer.adopt([...initialParams.values(), ...initialState.values()]);
    trainer.prunableNames = prunable;
    trainer.fakeQuant = fakeQuant;
    return trainer;
  }

  get paramNames(): string[] { return this.layout.params; }

  /** The model's data inputs (what a batch must carry besides labels). */
  get evalInputs(): string[] { return this.exportGraph.graph.inputs; }

  learningRate(step = this.step): number {
    const { lr, warmupSteps, totalSteps } = this.options;
    return warmupCosine(step, { peak: lr, warmupSteps, totalSteps });
  }

  private scalarFeeds(lr: number): Batch {
    const feeds: Batch = { 'opt.lr': Tensor.scalar('float32', lr) };
    if (this.options.optimizer.kind === 'adamw') {
      const t = this.step + 1;
      feeds['opt.bias_correction1'] = Tensor.scalar('float32', 1 / (1 - (this.options.optimizer.beta1 ?? 0.9) ** t));
      feeds['opt.bias_correction2'] = Tensor.scalar('float32', 1 / (1 - (this.options.optimizer.beta2 ?? 0.999) ** t));
    }
    return feeds;
  }

  private fakeQuant = new Map<string, FakeQuantizer>();

  /** What fake quantization adds to each weight it covers: quantized value minus weight. */
  private quantizationOffsets(): Batch {
    const feeds: Batch = {};
    for (const [p, quantize] of this.fakeQuant) {
      const w = this.params.get(p)!;
      const q = quantize(w);
      const data = w.data as Float32Array;
      feeds[`qdelta.${p}`] = new Tensor('float32', w.dims, q.map((v, i) => v - data[i]!));
    }
    return feeds;
  }

  /** 0/1 masks of the prunable weights (absent: nothing pruned yet). */
  readonly masks = new Map<string, Tensor>();
  private prunableNames: string[] = [];

  /** The weights setSparsity() prunes. */
  get prunable(): string[] { return this.prunableNames; }

  /**
   * Global magnitude pruning: zero the smallest `sparsity` fraction of all prunable weights
   * (together, so layers keep what matters most), with their optimizer state.
   */
  setSparsity(sparsity: number): void {
    if (this.prunableNames.length === 0) return;
    const threshold = magnitudeThreshold(this.prunableNames.map((p) => this.params.get(p)!), sparsity);
    for (const p of this.prunableNames) {
      const mask = magnitudeMask(this.params.get(p)!, threshold);
      const m = mask.data as Float32Array;
      const dims = mask.dims;
      this.params.set(p, new Tensor('float32', dims, Float32Array.from(this.params.get(p)!.data as Float32Array, (v, i) => v * m[i]!)));
      this.masks.set(p, mask);
      for (const [name, t] of this.state) {
        if (name !== `opt.m.${p}` && name !== `opt.v.${p}` && name !== `opt.momentum.${p}`) continue;
        const st = new Float32Array(t.data as Float32Array);
        for (let i = 0; i < st.length; i++) st[i]! *= m[i]!;
        this.state.set(name, new Tensor('float32', t.dims, st));
      }
    }
  }

  /** Fraction of prunable weights that are zero. */
  sparsity(): number {
    let zeros = 0, total = 0;
    for (const p of this.prunableNames) for (const v of this.params.get(p)!.data as Float32Array) { zeros += Number(v === 0); total++; }
    return total ? zeros / total : 0;
  }

  /** After a resume: masks from the zeros of the restored weights. */
  restoreMasks(): void {
    for (const p of this.prunableNames) {
      const w = this.params.get(p)!;
      this.masks.set(p, new Tensor('float32', w.dims, Float32Array.from(w.data as Float32Array, (v) => (v === 0 ? 0 : 1))));
    }
  }

  async trainStep(batch: Batch): Promise<StepResult> {
    const result = await this.runStep(batch);
    // onnxruntime-node returned a copy of every weight and state tensor (and, where the update is
    // not in place, the old ones are done with): freeing them now keeps them off the next step's
    // peak. A full collection takes about 10 ms; it runs only where it frees much.
    if (this.collectAfterStep) collectGarbage();
    return result;
  }

  private async runStep(batch: Batch): Promise<StepResult> {
    const lr = this.learningRate();
    const feeds: Batch = { ...batch, ...this.scalarFeeds(lr), ...this.quantizationOffsets() };
    for (const p of this.prunableNames) {
      const mask = this.masks.get(p) ?? new Tensor('float32', this.params.get(p)!.dims, new Float32Array(this.params.get(p)!.size).fill(1));
      this.masks.set(p, mask);
      feeds[`mask.${p}`] = mask;
    }
    const into = this.updateTargets();
    for (const [k, v] of this.params) feeds[k] = v;
    for (const [k, v] of this.state) feeds[k] = v;
    const { layout } = this;
    const inPlace = new Set(Object.keys(into));
    const fetches = [layout.loss, layout.gradNorm, ...[...layout.nextParams.values(), ...layout.state.map((s) => s.next)].filter((x) => !inPlace.has(x))];
    const out = await runInto(this.trainSession, feeds, fetches, into);
    for (const p of layout.params) if (!inPlace.has(layout.nextParams.get(p)!)) this.params.set(p, out[layout.nextParams.get(p)!]!);
    for (const s of layout.state) if (!inPlace.has(s.next)) this.state.set(s.name, out[s.next]!);
    this.step++;
    return { loss: Number(out[layout.loss]!.data[0]), gradNorm: Number(out[layout.gradNorm]!.data[0]), lr };
  }

  /** Tensors this trainer allocated: the only memory it lets onnxruntime write into. */
  private readonly owned = new WeakSet<Tensor>();

  /** Takes tensors built for this trainer alone as its own, but for any two that share a buffer. */
  private adopt(tensors: Tensor[]): void {
    const buffers = new Map<ArrayBufferLike, number>();
    for (const t of tensors) buffers.set(t.data.buffer, (buffers.get(t.data.buffer) ?? 0) + 1);
    for (const t of tensors) if (buffers.get(t.data.buffer) === 1) this.owned.add(t);
  }

  /**
   * The tensors the in-place updates write into, by output name. A tensor set from outside (initial
   * weights, a resumed checkpoint, pruning) may share memory with its source or another tensor, so
   * it is copied once into memory of the trainer's own.
   */
  private updateTargets(): Record<string, Tensor> {
    const into: Record<string, Tensor> = {};
    for (const { input, output } of this.layout.inPlace) {
      const slots = this.params.has(input) ? this.params : this.state;
      let t = slots.get(input)!;
      if (!this.owned.has(t)) {
        t = new Tensor(t.dtype, t.dims, t.data.slice());
        this.owned.add(t);
        slots.set(input, t);
      }
      into[output] = t;
    }
    return into;
  }

  async evaluate(batches: Iterable<Batch> | AsyncIterable<Batch>, options: { predictions?: boolean } = {}): Promise<EvalResult> {
    let lossSum = 0, correct = 0, targets = 0;
    const predictions: number[] = [];
    const fetches = [this.layout.evalLoss, ...(this.layout.evalCorrect ? [this.layout.evalCorrect] : []), ...(options.predictions ? [this.layout.evalPredicted] : [])];
    const offsets = this.quantizationOffsets();
    for await (const batch of batches) {
      const feeds: Batch = { labels: batch.labels!, ...offsets };
      for (const name of this.evalInputs) if (batch[name]) feeds[name] = batch[name]!;
      for (const [k, v] of this.params) feeds[k] = v;
      const out = await run(this.evalSession, feeds, fetches);
      if (options.predictions) for (const v of out[this.layout.evalPredicted]!.data as BigInt64Array) predictions.push(Number(v));
      lossSum += Number(out[this.layout.evalLoss]!.data[0]);
      if (this.layout.evalCorrect) correct += Number(out[this.layout.evalCorrect]!.data[0]);
      targets += batch.labels!.size;
    }
    const result: EvalResult = { loss: lossSum / Math.max(1, targets), targets };
    if (options.predictions) result.predictions = Int32Array.from(predictions);
    if (this.layout.evalCorrect) result.accuracy = correct / Math.max(1, targets);
    return result;
  }

  /**
   * The forward graph with the current parameters stored as initializers, its metadata, and the
   * sha256 of those weights (minnow.weights_sha256) that the runtime checks.
   */
  exportModel(metadata: Record<string, string> = {}): Uint8Array {
    const g = this.exportGraph.graph;
    for (const [name, value] of this.params) {
      // Quantization-aware runs export the quantized values: the model that was evaluated.
      const quantize = this.fakeQuant.get(name);
      const exported = quantize ? new Tensor('float32', value.dims, quantize(value)) : value;
      g.initializers.set(name, exported);
      g.constants.set(name, exported);
    }
    g.metadata.clear();
    for (const [k, v] of Object.entries(metadata)) g.metadata.set(k, v);
    stampWeightsDigest(g);
    return encodeModel(g);
  }

  paramCount(): number {
    let n = 0;
    for (const t of this.params.values()) n += t.size;
    return n;
  }

  async release(): Promise<void> {
    await Promise.all([this.trainSession.release(), this.evalSession.release()]);
  }
}
