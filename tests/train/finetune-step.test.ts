// --finetunable: the training step a model file carries for the runtime's finetune(). Cut out of the
// inference graph, it must give the gradients of the whole graph for the part it trains (checked
// through AdamW's first moment, which after one unclipped step is 0.1 x the gradient), leave the
// model's own outputs as they were, and refuse what it cannot train in one line.
import { describe, expect, it } from 'vitest';
import { buildModel, type ArchConfig, type ModelShape } from '../../src/nn/models.js';
import { encodeModel, decodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';
import { grad } from '../../src/autodiff/grad.js';
import { crossEntropy } from '../../src/train/losses.js';
import { lowerForOnnxruntime } from '../../src/onnx/lower.js';
import { addFinetuneStep, withFinetuneStep } from '../../src/train/finetune-step.js';
import { FinetunableError, parseFinetunePart, trainableWeights, type FinetunePart } from '../../src/compress/finetunable.js';
import { compressModel } from '../../src/compress/compress.js';
import { FINETUNE_IO, FINETUNE_META, type FinetuneSpec } from '../../src/format/finetune.js';
import type { Graph } from '../../src/onnx/graph.js';

const rng = new Rng(4);
const transformer: [ArchConfig, ModelShape] = [{ kind: 'transformer', layers: 2, dim: 16, heads: 2, ff: 32, ctx: 8 }, { task: 'classify', vocabSize: 30, numClasses: 3 }];
const cnn: [ArchConfig, ModelShape] = [{ kind: 'cnn', channels: [3, 4], hidden: 8 }, { task: 'image', numClasses: 3, imageShape: [1, 8, 8] }];

function inputsFor(shape: ModelShape): Record<string, Tensor> {
  if (shape.task === 'image') return { pixels: Tensor.fromNumbers('float32', [4, 1, 8, 8], Array.from({ length: 256 }, () => rng.normal())) };
  return {
    input_ids: Tensor.fromNumbers('int64', [4, 6], Array.from({ length: 24 }, () => rng.int(30))),
    attention_mask: Tensor.fromNumbers('int64', [4, 6], [...Array(20).fill(1), 0, 0, 0, 0]),
  };
}
const labels = Tensor.fromNumbers('int64', [4], [0, 2, 1, 2]);

/** d cross-entropy / d w for the part's weights, by the autodiff over the whole inference graph. */
async function wholeGraphGradients(g: Graph, params: string[], inputs: Record<string, Tensor>): Promise<Map<string, Float32Array>> {
  const copy = decodeModel(encodeModel(g)).graph;
  const values = new Map(params.map((p) => [p, copy.initializers.get(p)!]));
  for (const p of params) copy.initializerToInput(p);
  const loss = crossEntropy(copy, 'logits', copy.input('labels', 'int64', ['batch']));
  const grads = grad(copy, loss, params);
  copy.outputs.length = 0;
  for (const p of params) copy.output(grads.get(p)!);
  lowerForOnnxruntime(copy);
  const out = await run(await createSession(encodeModel(copy), { threads: 1 }), { ...inputs, labels, ...Object.fromEntries(values) });
  return new Map(params.map((p) => [p, out[grads.get(p)!]!.data as Float32Array]));
}

/** One step of the carried training step, unclipped: loss, logits and AdamW's first moment per weight. */
async function oneStep(file: Uint8Array, inputs: Record<string, Tensor>) {
  const { graph } = decodeModel(file);
  const spec = JSON.parse(graph.metadata.get(FINETUNE_META.spec)!) as FinetuneSpec;
  const model = await run(await createSession(file, { threads: 1 }), inputs);
  const step = await createSession(Buffer.from(graph.metadata.get(FINETUNE_META.graph)!, 'base64'), { threads: 1 });
  const feeds: Record<string, Tensor> = { labels, [FINETUNE_IO.lr]: Tensor.scalar('float32', 1e-3), [FINETUNE_IO.biasCorrection1]: Tensor.scalar('float32', 10), [FINETUNE_IO.biasCorrection2]: Tensor.scalar('float32', 1000) };
  for (const f of spec.features) feeds[f] = model[f]!;
  for (const p of spec.params) feeds[p] = graph.initializers.get(p)!;
  for (const s of spec.state) feeds[s.name] = Tensor.zeros('float32', graph.initializers.get(s.param)!.dims);
  const out = await run(step, feeds);
  const moment = new Map(spec.state.filter((s) => s.name.startsWith('opt.m.')).map((s) => [s.param, out[FINETUNE_IO.next(s.name)]!.data as Float32Array]));
  return { spec, model, out, moment };
}

const relativeError = (a: Float32Array, b: Float32Array) => {
  let worst = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { worst = Math.max(worst, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
  return worst / Math.max(scale, 1e-12);
};

describe('the training step a file carries (--finetunable)', () => {
  const cases: [string, [ArchConfig, ModelShape], FinetunePart][] = [
    ['Transformer, head', transformer, 'head'], ['Transformer, last:1', transformer, { last: 1 }], ['Transformer, all', transformer, 'all'],
    ['CNN, head', cnn, 'head'], ['CNN, all', cnn, 'all'],
  ];
  for (const [name, [arch, shape], part] of cases) {
    it(`${name}: the gradients of the whole graph (1e-5), the same logits, and the model's outputs unchanged`, async () => {
      const model = buildModel(arch, shape, { seed: 3 });
      const bytes = encodeModel(model.graph);
      const inputs = inputsFor(shape);
      const file = withFinetuneStep(bytes, part, { maxGradNorm: 0 });
      const { spec, model: outputs, out, moment } = await oneStep(file, inputs);
      expect(spec.params).toEqual(trainableWeights(model.graph, part));
      const reference = await wholeGraphGradients(model.graph, spec.params, inputs);
      for (const p of spec.params) expect(relativeError(moment.get(p)!.map((v) => v / 0.1), reference.get(p)!)).toBeLessThan(1e-5);
      // (onnxruntime may fuse the step's copy of a Conv otherwise than the model's: float rounding.)
      expect(relativeError(out[FINETUNE_IO.logits]!.data as Float32Array, outputs.logits!.data as Float32Array)).toBeLessThan(1e-5);
      const before = await run(await createSession(bytes, { threads: 1 }), inputs);
      expect(Array.from(outputs.logits!.data as Float32Array)).toEqual(Array.from(before.logits!.data as Float32Array));
    });
  }

  it('keeps the part float32 when the rest is quantized, and the int8 file carries the step', async () => {
    const model = buildModel(...transformer, { seed: 3 });
    const bytes = compressModel(encodeModel(model.graph), { quantize: 'int8', finetunable: { last: 1 } }).bytes;
    const { graph } = decodeModel(bytes);
    for (const p of trainableWeights(model.graph, { last: 1 })) expect(graph.initializers.get(p)?.dtype).toBe('float32');
    expect(graph.initializers.has('layers.0.attn.qkv.weight')).toBe(false);
    const { spec } = await oneStep(withFinetuneStep(bytes, { last: 1 }), inputsFor(transformer[1]));
    expect(spec.part).toBe('last:1');
  });

  it('refuses what it cannot train, in one line', () => {
    const lm = encodeModel(buildModel(transformer[0], { task: 'lm', vocabSize: 30 }, { seed: 1 }).graph);
    expect(() => withFinetuneStep(lm, 'head')).toThrow(FinetunableError);
    const text = encodeModel(buildModel(...transformer, { seed: 1 }).graph);
    expect(() => withFinetuneStep(text, { last: 3 })).toThrow(/has 2 Transformer block/);
    expect(() => withFinetuneStep(encodeModel(buildModel(...cnn, { seed: 1 }).graph), { last: 1 })).toThrow(/needs a Transformer/);
    const quantized = compressModel(text, { quantize: 'int8' }).bytes;
    expect(() => withFinetuneStep(quantized, { last: 1 })).toThrow(/compress the float model with --finetunable last:1/);
    expect(() => compressModel(text, { quantize: 'int8', finetunable: 'all' })).toThrow(/none can be quantized/);
    expect(() => parseFinetunePart('last:0')).toThrow(/head, last:N/);
    expect(parseFinetunePart('last:2')).toEqual({ last: 2 });
  });

  it('adds the features to the inference graph as outputs and nothing else', () => {
    const g = buildModel(...transformer, { seed: 3 }).graph;
    const outputs = [...g.outputs];
    const spec = addFinetuneStep(g, 'head');
    expect(g.outputs).toEqual([...outputs, ...spec.features]);
    expect(spec.features).toEqual([FINETUNE_IO.feature(0)]);
  });
});
