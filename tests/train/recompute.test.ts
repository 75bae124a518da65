// --recompute: the backward pass recomputes each Transformer block from its input. The gradients must
// be those of the plain backward pass (1e-5 relative), dropout masks included, step after step; and
// the blocks' activations must no longer be read by the backward pass.
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/nn/models.js';
import { blockSegments } from '../../src/nn/transformer-block.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { grad } from '../../src/autodiff/grad.js';
import { crossEntropy } from '../../src/train/losses.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Rng } from '../../src/format/rng.js';

const arch = { kind: 'transformer' as const, layers: 2, dim: 16, heads: 2, ff: 32, ctx: 8, dropout: 0.2 };
// SGD with momentum: AdamW divides by each gradient's own running size, which turns float noise in
// near-zero gradients into visible steps; SGD keeps a difference of gradients a difference of weights.
const options: TrainerOptions = { task: 'lm', optimizer: { kind: 'sgd', momentum: 0.9 }, lr: 0.1, warmupSteps: 0, totalSteps: 10, maxGradNorm: 100, threads: 1 };

async function trainedParams(recompute: boolean): Promise<{ params: Map<string, Tensor>; gradNorms: number[] }> {
  const trainer = await Trainer.create((training) => buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training }), { ...options, recompute });
  const rng = new Rng(3), gradNorms: number[] = [];
  for (let step = 0; step < 4; step++) {
    const ids = Array.from({ length: 3 * 8 }, () => rng.int(20));
    const r = await trainer.trainStep({ input_ids: Tensor.fromNumbers('int64', [3, 8], ids), labels: Tensor.fromNumbers('int64', [3, 8], ids.map((i) => (i * 7 + 1) % 20)) });
    gradNorms.push(r.gradNorm);
  }
  return { params: trainer.params, gradNorms };
}

/** The gradients of one step of the training graph, with or without recompute (dropout draws its first masks in both). */
async function gradients(recompute: boolean, feeds: Record<string, Tensor>): Promise<Map<string, Float32Array>> {
  const model = buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training: true });
  const g = model.graph;
  const params = [...g.params];
  const values = new Map(params.map((p) => [p, g.initializers.get(p)!]));
  for (const p of params) g.initializerToInput(p);
  const loss = crossEntropy(g, model.logits, g.input('labels', 'int64', ['batch', 'seq']));
  const grads = grad(g, loss, params, { recompute: recompute ? blockSegments(g.nodes) : undefined });
  g.outputs.length = 0;
  for (const p of params) g.output(grads.get(p)!);
  const out = await run(await createSession(encodeModel(g), { threads: 1 }), { ...feeds, ...Object.fromEntries(values) });
  return new Map(params.map((p) => [p, out[grads.get(p)!]!.data as Float32Array]));
}

describe('recompute', () => {
  it('gives the gradients of the plain backward pass (1e-5 relative), dropout included', async () => {
    const rng = new Rng(5), ids = Array.from({ length: 3 * 8 }, () => rng.int(20));
    const feeds = { input_ids: Tensor.fromNumbers('int64', [3, 8], ids), labels: Tensor.fromNumbers('int64', [3, 8], ids.map((i) => (i * 7 + 1) % 20)) };
    const [plain, again] = [await gradients(false, feeds), await gradients(true, feeds)];
    expect(plain.size).toBeGreaterThan(10);
    for (const [name, a] of plain) {
      const b = again.get(name)!, scale = Math.max(...a.map(Math.abs));
      expect(scale).toBeGreaterThan(0);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst / scale).toBeLessThan(1e-5);
    }
  });

  it('trains as the plain backward pass does over four steps: gradient norms and weights within 1e-5', async () => {
    const [plain, again] = [await trainedParams(false), await trainedParams(true)];
    again.gradNorms.forEach((n, i) => expect(Math.abs(n - plain.gradNorms[i]!) / plain.gradNorms[i]!).toBeLessThan(1e-5));
    for (const [name, t] of plain.params) {
      const a = t.data as Float32Array, b = again.params.get(name)!.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (Math.abs(a[i]!) + 1e-3));
      expect(worst).toBeLessThan(1e-5);
    }
  });

  it('starts the first block at its LayerNorm, not at fake-quantized weights moved to the front (--qat)', () => {
    const model = buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training: true });
    const g = model.graph;
    for (const p of [...g.params]) g.initializerToInput(p);
    // What the trainer's --qat does to a weight: readers take p + qdelta.p, an Add put first.
    const p = 'layers.0.ln1.weight';
    const quantized = g.op1('Add', [p, g.input(`qdelta.${p}`, 'float32', g.shape(p))], {}, { name: `fake_quant.${p}` });
    const add = g.nodes.pop()!;
    for (const n of g.nodes) n.inputs = n.inputs.map((i) => (i === p ? quantized : i));
    g.nodes.unshift(add);
    const [first] = blockSegments(g.nodes);
    expect(first![0]!.opType).toBe('LayerNormalization');
    expect(first!.some((n) => n.opType === 'Gather' || n === add)).toBe(false);
  });

  it('leaves the backward pass no activation from inside a block but the dropout masks', () => {
    const model = buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training: true });
    const g = model.graph;
    const params = [...g.params];
    for (const p of params) g.initializerToInput(p);
    const loss = crossEntropy(g, model.logits, g.input('labels', 'int64', ['batch', 'seq']));
    const forward = g.nodes.length;
    const segments = blockSegments(g.nodes);
    expect(segments).toHaveLength(2);
    grad(g, loss, params, { recompute: segments });
    const masks = new Set(segments.flat().filter((n) => n.opType === 'Dropout').map((n) => n.outputs[1]!));
    expect(masks.size).toBeGreaterThan(0);
    const inside = new Set(segments.flat().filter((n) => n.inputs.length > 0).flatMap((n) => n.outputs));
    // The blocks' outputs (the residual stream) are read by the gates and the next block's copy.
    const readLater = g.nodes.slice(forward).flatMap((n) => n.inputs).filter((x) => inside.has(x) && !masks.has(x));
    expect(readLater.filter((x) => !/^layers\.\d+\.res2$/.test(x))).toEqual([]);
  });
});
