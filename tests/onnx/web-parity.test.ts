// Exported models give the same outputs in onnxruntime-web (wasm, run here in Node) as in
// onnxruntime-node.
import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { buildModel, type ArchConfig, type ModelShape } from '../../src/nn/models.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';

ortWeb.env.wasm.numThreads = 1;

const rng = new Rng(5);
const ids = (n: number, vocab: number) => Tensor.fromNumbers('int64', [2, n], Array.from({ length: 2 * n }, () => rng.int(vocab)));

const cases: { name: string; arch: ArchConfig; shape: ModelShape; feeds: () => Record<string, Tensor> }[] = [
  { name: 'MLP', arch: { kind: 'mlp', hidden: [32] }, shape: { task: 'image', numClasses: 10, imageShape: [1, 28, 28] },
    feeds: () => ({ pixels: Tensor.fromNumbers('float32', [2, 1, 28, 28], Array.from({ length: 2 * 784 }, () => rng.next())) }) },
  { name: 'CNN', arch: { kind: 'cnn', channels: [4, 8], hidden: 16 }, shape: { task: 'image', numClasses: 10, imageShape: [1, 28, 28] },
    feeds: () => ({ pixels: Tensor.fromNumbers('float32', [2, 1, 28, 28], Array.from({ length: 2 * 784 }, () => rng.next())) }) },
  { name: 'ViT', arch: { kind: 'vit', layers: 2, dim: 16, heads: 2, ff: 32, patch: 7 }, shape: { task: 'image', numClasses: 10, imageShape: [1, 28, 28] },
    feeds: () => ({ pixels: Tensor.fromNumbers('float32', [2, 1, 28, 28], Array.from({ length: 2 * 784 }, () => rng.next())) }) },
  { name: 'Transformer classifier', arch: { kind: 'transformer', layers: 2, dim: 32, heads: 4, ff: 64, ctx: 16 }, shape: { task: 'classify', vocabSize: 50, numClasses: 2 },
    feeds: () => ({ input_ids: ids(12, 50), attention_mask: Tensor.fromNumbers('int64', [2, 12], [...Array(12).fill(1), ...Array(7).fill(1), ...Array(5).fill(0)]) }) },
  { name: 'Transformer LM', arch: { kind: 'transformer', layers: 2, dim: 32, heads: 4, ff: 64, ctx: 16 }, shape: { task: 'lm', vocabSize: 40 },
    feeds: () => ({ input_ids: ids(16, 40) }) },
];

describe('onnxruntime-node and onnxruntime-web agree', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const model = buildModel(c.arch, c.shape, { seed: 1 });
      const bytes = encodeModel(model.graph);
      const feeds = c.feeds();
      const nodeOut = (await run(await createSession(bytes), feeds))[model.logits]!;
      const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      const webFeeds = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.dtype, t.data as never, t.dims)]));
      const webOut = (await web.run(webFeeds))[model.logits]!;
      expect([...webOut.dims]).toEqual(nodeOut.dims);
      const a = nodeOut.toNumbers(), b = Array.from(webOut.data as Float32Array);
      const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }
});
