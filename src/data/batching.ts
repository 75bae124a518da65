// Turning examples into batches of tensors, in an order fixed by (seed, epoch) so that a resumed run
// sees exactly the batches an uninterrupted one would have.
import { Tensor } from '../onnx/tensor.js';
import { Rng } from '../format/rng.js';
import { INPUT } from '../format/names.js';
import type { ImageExample } from './datasets.js';

export type Batch = Record<string, Tensor>;

/** Anything that can make a batch from a list of example indices (augmented when given an Rng). */
export interface BatchSource {
  readonly size: number;
  make(indices: number[], augment?: Rng): Batch;
}

export function epochOrder(n: number, seed: number, epoch: number, shuffle = true): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return shuffle ? new Rng((seed * 1_000_003 + epoch * 7919) >>> 0).shuffle(order) : order;
}

export function batchCount(source: BatchSource, batchSize: number): number {
  return Math.ceil(source.size / batchSize);
}

export interface BatchIterOptions {
  batchSize: number; seed: number; epoch: number; startBatch?: number; shuffle?: boolean;
  /** Random augmentation, drawn from (seed, epoch, batch) so that a resumed run draws the same. */
  augment?: boolean;
}

export function* iterateBatches(source: BatchSource, options: BatchIterOptions): Generator<Batch> {
  const order = epochOrder(source.size, options.seed, options.epoch, options.shuffle ?? true);
  for (let b = options.startBatch ?? 0; b * options.batchSize < order.length; b++) {
    const rng = options.augment ? new Rng(Math.imul(options.seed + 1, 0x9e3779b1) ^ Math.imul(options.epoch + 1, 0x85ebca6b) ^ Math.imul(b + 1, 0xc2b2ae35)) : undefined;
    yield source.make(order.slice(b * options.batchSize, (b + 1) * options.batchSize), rng);
  }
}

/**
 * Text classification: token ids truncated to `ctx` (the first ctx tokens; augmented: half the time
 * a random window of ctx tokens from a longer text, so that the view a model is tested on, the
 * start, stays common), padded to the longest in each batch.
 */
export class TextClassificationSource implements BatchSource {
  constructor(private readonly all: number[][], private readonly labels: number[], private readonly padId: number, private readonly ctx = Infinity) {}
  get size(): number { return this.all.length; }
  make(indices: number[], augment?: Rng): Batch {
    const windows = indices.map((i) => {
      const seq = this.all[i]!;
      const start = augment && seq.length > this.ctx && augment.next() < 0.5 ? augment.int(seq.length - this.ctx + 1) : 0;
      return seq.slice(start, start + this.ctx);
    });
    const len = Math.max(1, ...windows.map((w) => w.length));
    const n = indices.length;
    const inputIds = new BigInt64Array(n * len).fill(BigInt(this.padId));
    const mask = new BigInt64Array(n * len);
    const labels = new BigInt64Array(n);
    indices.forEach((ex, r) => {
      const seq = windows[r]!;
      for (let t = 0; t < seq.length; t++) { inputIds[r * len + t] = BigInt(seq[t]!); mask[r * len + t] = 1n; }
      labels[r] = BigInt(this.labels[ex]!);
    });
    return {
      [INPUT.ids]: new Tensor('int64', [n, len], inputIds),
      [INPUT.mask]: new Tensor('int64', [n, len], mask),
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
    return { [INPUT.ids]: new Tensor('int64', [n, T], input), labels: new Tensor('int64', [n, T], labels) };
  }
}

/** Image augmentation: a random shift of up to `shift` pixels each way (background fills in), and a random horizontal flip. */
export interface ImageAugment { shift: number; flip: boolean }

export class ImageSource implements BatchSource {
  constructor(
    private readonly examples: ImageExample[],
    private readonly shape: [number, number, number],
    private readonly normalize: { mean: number; std: number },
    private readonly augmentation: ImageAugment = { shift: 2, flip: true },
  ) {}
  get size(): number { return this.examples.length; }
  make(indices: number[], augment?: Rng): Batch {
    const [c, h, w] = this.shape;
    const size = c * h * w;
    const pixels = new Float32Array(indices.length * size);
    const labels = new BigInt64Array(indices.length);
    const { mean, std } = this.normalize;
    const { shift, flip } = this.augmentation;
    indices.forEach((ex, r) => {
      const src = this.examples[ex]!.pixels;
      const dy = augment ? augment.int(2 * shift + 1) - shift : 0, dx = augment ? augment.int(2 * shift + 1) - shift : 0;
      const mirror = augment ? flip && augment.next() < 0.5 : false;
      for (let ch = 0; ch < c; ch++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const sy = y - dy, sx0 = x - dx, sx = mirror ? w - 1 - sx0 : sx0;
        const v = sy >= 0 && sy < h && sx >= 0 && sx < w ? src[(ch * h + sy) * w + sx]! : 0;
        pixels[r * size + (ch * h + y) * w + x] = (v - mean) / std;
      }
      labels[r] = BigInt(this.examples[ex]!.label);
    });
    return { [INPUT.pixels]: new Tensor('float32', [indices.length, c, h, w], pixels), labels: new Tensor('int64', [indices.length], labels) };
  }
}
