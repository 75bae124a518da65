// Turning examples into batches of tensors, in an order fixed by (seed, epoch) so that a resumed run
// sees exactly the batches an uninterrupted one would have.
import { Tensor } from '../onnx/tensor.js';
import { Rng } from '../train/rng.js';
import type { ImageExample } from './datasets.js';

export type Batch = Record<string, Tensor>;

/** Anything that can make a batch from a list of example indices. */
export interface BatchSource {
  readonly size: number;
  make(indices: number[]): Batch;
}

export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffle ? new Rng((seed * 1_000_003 + epoch * 7919) >>> 0).shuffle(order) : order;
}

export function batchCount(source: BatchSource, batchSize: number): number {
  return Math.ceil(source.size / batchSize);
}

export interface BatchIterOptions { batchSize: number; seed: number; epoch: number; startBatch?: number; shuffle?: boolean }

export function* iterateBatches(source: BatchSource, options: BatchIterOptions): Generator<Batch> {
  const order = epochOrder(source.size, options.seed, options.epoch, options.shuffle ?? true);
  for (let b = options.startBatch ?? 0; b * options.batchSize < order.length; b++) {
    yield source.make(order.slice(b * options.batchSize, (b + 1) * options.batchSize));
  }
}

/** Text classification: token ids truncated to `ctx`, padded to the longest in each batch. */
export class TextClassificationSource implements BatchSource {
  constructor(private readonly ids: number[][], private readonly labels: number[], private readonly padId: number) {}
  get size(): number { return this.ids.length; }
  make(indices: number[]): Batch {
    const len = Math.max(1, ...indices.map((i) => this.ids[i]!.length));
    const n = indices.length;
    const inputIds = new BigInt64Array(n * len).fill(BigInt(this.padId));
    const mask = new BigInt64Array(n * len);
    const labels = new BigInt64Array(n);
    indices.forEach((ex, r) => {
      const seq = this.ids[ex]!;
      for (let t = 0; t < seq.length; t++) { inputIds[r * len + t] = BigInt(seq[t]!); mask[r * len + t] = 1n; }
      labels[r] = BigInt(this.labels[ex]!);
    });
    return {
      input_ids: new Tensor('int64', [n, len], inputIds),
      attention_mask: new Tensor('int64', [n, len], mask),
      labels: new Tensor('int64', [n], labels),
    };
  }
}

/** Language modelling: non-overlapping windows of `ctx` tokens, each predicting its next token. */
export class LanguageModelSource implements BatchSource {
  readonly size: number;
  constructor(private readonly tokens: Int32Array, private readonly ctx: number) {
    this.size = Math.max(0, Math.floor((tokens.length - 1) / ctx));
  }
  make(indices: number[]): Batch {
    const n = indices.length, T = this.ctx;
    const input = new BigInt64Array(n * T), labels = new BigInt64Array(n * T);
    indices.forEach((w, r) => {
      const start = w * T;
      for (let t = 0; t < T; t++) {
        input[r * T + t] = BigInt(this.tokens[start + t]!);
        labels[r * T + t] = BigInt(this.tokens[start + t + 1]!);
      }
    });
    return { input_ids: new Tensor('int64', [n, T], input), labels: new Tensor('int64', [n, T], labels) };
  }
}

export class ImageSource implements BatchSource {
  constructor(
    private readonly examples: ImageExample[],
    private readonly shape: [number, number, number],
    private readonly normalize: { mean: number; std: number },
  ) {}
  get size(): number { return this.examples.length; }
  make(indices: number[]): Batch {
    const [c, h, w] = this.shape;
    const size = c * h * w;
    const pixels = new Float32Array(indices.length * size);
    const labels = new BigInt64Array(indices.length);
    const { mean, std } = this.normalize;
    indices.forEach((ex, r) => {
      const src = this.examples[ex]!.pixels;
      for (let j = 0; j < size; j++) pixels[r * size + j] = (src[j]! - mean) / std;
      labels[r] = BigInt(this.examples[ex]!.label);
    });
    return { pixels: new Tensor('float32', [indices.length, c, h, w], pixels), labels: new Tensor('int64', [indices.length], labels) };
  }
}
