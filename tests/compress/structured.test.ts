// Structured pruning: the rebuilt model keeps exactly the units it was told to keep (a model whose
// dropped units are zero computes the same outputs after pruning), runs in onnxruntime-node and
// -web, and is smaller; bad targets and unsuitable files get clear errors.
import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { buildModel, type ArchConfig, type ModelShape } from '../../src/nn/models.js';
import { formatModelSpec, parseModelSpec } from '../../src/nn/spec.js';
import { encodeModel, decodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import type { Graph } from '../../src/onnx/graph.js';
import { Rng } from '../../src/format/rng.js';
import { META } from '../../src/format/metadata.js';
import { parseStructuredTargets, pruneStructured, type StructuredTargets } from '../../src/compress/prune/structured.js';
import { axisNorms2, take, topIndices } from '../../src/nn/kinds/prune.js';
import { pruneMagnitude } from '../../src/compress/prune/magnitude.js';
import { quantizeGraph } from '../../src/compress/quantize/schemes.js';

ortWeb.env.wasm.numThreads = 1;
const rng = new Rng(5);

function model(arch: ArchConfig, shape: ModelShape, seed = 1): Graph {
  const g = decodeModel(encodeModel(buildModel(arch, shape, { seed }).graph)).graph;
  g.metadata.set(META.model, formatModelSpec(arch));
  g.metadata.set(META.task, shape.task);
  g.metadata.set(META.metrics, JSON.stringify({ accuracy: 0.9 }));
  return g;
}

const textShape: ModelShape = { task: 'classify', vocabSize: 30, numClasses: 3 };
const imageShape: ModelShape = { task: 'image', numClasses: 5, imageShape: [1, 8, 8] };

function feeds(shape: ModelShape): Record<string, Tensor> {
  if (shape.task === 'image') return { pixels: Tensor.fromNumbers('float32', [2, 1, 8, 8], Array.from({ length: 128 }, () => rng.normal())) };
  const ids = Tensor.fromNumbers('int64', [2, 6], Array.from({ length: 12 }, () => rng.int(30)));
  return shape.task === 'lm' ? { input_ids: ids } : { input_ids: ids, attention_mask: Tensor.fromNumbers('int64', [2, 6], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]) };
}

async function logits(g: Graph, f: Record<string, Tensor>): Promise<Float32Array> {
  return (await run(await createSession(encodeModel(g)), f)).logits!.data as Float32Array;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Zero entries of `name` at `idx` along `axis` (an initializer of g). */
function zeroSlices(g: Graph, name: string, axis: number, idx: number[]): void {
  const t = g.initializers.get(name)!;
  const data = new Float32Array(t.data as Float32Array);
  const n = t.dims[axis]!, inner = t.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  data.forEach((_, i) => { if (idx.includes(Math.floor(i / inner) % n)) data[i] = 0; });
  const z = new Tensor('float32', t.dims, data);
  g.initializers.set(name, z);
  g.constants.set(name, z);
}

describe('structured pruning helpers', () => {
  it('take, axisNorms2 and topIndices', () => {
    const t = Tensor.fromNumbers('float32', [2, 3], [1, 2, 3, 4, 5, 6]);
    expect([...take(t, 1, [0, 2]).data]).toEqual([1, 3, 4, 6]);
    expect([...take(t, 0, [1]).data]).toEqual([4, 5, 6]);
    expect([...axisNorms2(t, 1)]).toEqual([17, 29, 45]);
    expect(topIndices([0.5, 3, 1, 3], 2)).toEqual([1, 3]);
  });

  it('parses targets and rejects bad ones', () => {
    expect(parseStructuredTargets('heads=1,ffn=128,dim=48')).toEqual({ heads: 1, ff: 128, dim: 48 });
    expect(parseStructuredTargets('channels=8-12,hidden=24')).toEqual({ channels: [8, 12], hidden: [24] });
    expect(() => parseStructuredTargets('width=3')).toThrow(/key one of layers, dim, heads, ff, ffn, channels, hidden/);
    expect(() => parseStructuredTargets('heads=0')).toThrow(/positive integers/);
    expect(() => parseStructuredTargets('')).toThrow(/nothing to prune/);
  });
});

describe('pruneStructured', () => {
  it('Transformer: dropping zeroed heads and FFN neurons leaves the outputs unchanged (node and web)', async () => {
    const arch = parseModelSpec('transformer:layers=2,dim=32,heads=4,ff=64,ctx=8');
    const g = model(arch, textShape);
    const headDim = 8, inner = 32;
    for (const [i, head, neurons] of [[0, 1, [3, 9, 40]], [1, 3, [0, 63, 7]]] as const) {
      const cols = Array.from({ length: headDim }, (_, j) => head * headDim + j);
      zeroSlices(g, `layers.${i}.attn.qkv.weight`, 1, [0, 1, 2].flatMap((p) => cols.map((c) => p * inner + c)));
      zeroSlices(g, `layers.${i}.attn.qkv.bias`, 0, [0, 1, 2].flatMap((p) => cols.map((c) => p * inner + c)));
      zeroSlices(g, `layers.${i}.attn.out.weight`, 0, cols);
      zeroSlices(g, `layers.${i}.ffn.fc1.weight`, 1, [...neurons]);
      zeroSlices(g, `layers.${i}.ffn.fc2.weight`, 0, [...neurons]);
    }
    const f = feeds(textShape);
    const before = await logits(g, f);
    const { graph, report } = pruneStructured(g, { heads: 3, ff: 61 });
    expect(report.spec_after).toBe('transformer:layers=2,dim=32,heads=3,head_dim=8,ff=61,ctx=8');
    expect(graph.initializers.get('layers.0.attn.qkv.weight')!.dims).toEqual([32, 72]);
    expect(report.params_after).toBeLessThan(report.params_before);
    expect(graph.metadata.get(META.model)).toBe(report.spec_after);
    expect(graph.metadata.has(META.metrics)).toBe(false);
    expect(maxDiff(await logits(graph, f), before)).toBeLessThan(1e-5);
    const web = await ortWeb.InferenceSession.create(encodeModel(graph), { executionProviders: ['wasm'] });
    const out = await web.run(Object.fromEntries(Object.entries(f).map(([k, t]) => [k, new ortWeb.Tensor(t.dtype, t.data as never, t.dims)])));
    expect(maxDiff(out.logits!.data as Float32Array, before)).toBeLessThan(1e-5);
  });

  it('Transformer LM and ViT: same sizes are the identity; layers and dim shrink the parameter count', async () => {
    for (const [spec, shape] of [['transformer:layers=3,dim=32,heads=4,ff=64,ctx=8', { task: 'lm', vocabSize: 30 }], ['vit:layers=3,dim=32,heads=4,ff=64,patch=4', imageShape]] as const) {
      const g = model(parseModelSpec(spec), shape as ModelShape);
      const f = feeds(shape as ModelShape);
      const same = pruneStructured(g, { layers: 3, dim: 32, heads: 4, ff: 64 });
      expect(maxDiff(await logits(same.graph, f), await logits(g, f))).toBe(0);
      const { graph, report } = pruneStructured(g, { layers: 2, dim: 24, heads: 2 });
      expect(report.spec_after).toMatch(/layers=2,dim=24,heads=2,head_dim=8/);
      expect(report.params_after / report.params_before).toBeLessThan(0.5);
      const out = await logits(graph, f);
      expect(out.every(Number.isFinite)).toBe(true);
      expect(out.length).toBe((await logits(g, f)).length);
    }
  });

  it('CNN and MLP: zeroed filters and dense units are the ones removed', async () => {
    const cnn = model(parseModelSpec('cnn:channels=4-6,hidden=10'), imageShape);
    zeroSlices(cnn, 'conv0.weight', 0, [2]); zeroSlices(cnn, 'conv0.bias', 0, [2]);
    zeroSlices(cnn, 'conv1.weight', 0, [0, 5]); zeroSlices(cnn, 'conv1.bias', 0, [0, 5]);
    zeroSlices(cnn, 'fc.weight', 1, [1, 4, 8]); zeroSlices(cnn, 'fc.bias', 0, [1, 4, 8]);
    const mlp = model(parseModelSpec('mlp:hidden=12-8'), imageShape);
    zeroSlices(mlp, 'fc0.weight', 1, [0, 11]); zeroSlices(mlp, 'fc0.bias', 0, [0, 11]);
    zeroSlices(mlp, 'fc1.weight', 1, [3]); zeroSlices(mlp, 'fc1.bias', 0, [3]);
    const f = feeds(imageShape);
    const cases: [Graph, StructuredTargets, string][] = [[cnn, { channels: [3, 4], hidden: [7] }, 'cnn:channels=3-4,hidden=7'], [mlp, { hidden: [10, 7] }, 'mlp:hidden=10-7']];
    for (const [g, targets, spec] of cases) {
      const { graph, report } = pruneStructured(g, targets);
      expect(report.spec_after).toBe(spec);
      expect(maxDiff(await logits(graph, f), await logits(g, f))).toBeLessThan(1e-5);
    }
  });

  it('refuses to grow, the wrong keys, quantized weights and files without minnow metadata', () => {
    const g = model(parseModelSpec('transformer:layers=2,dim=32,heads=4,ff=64,ctx=8'), textShape);
    expect(() => pruneStructured(g, { heads: 8 })).toThrow(/has only 4; pruning can only shrink/);
    expect(() => pruneStructured(g, { channels: [3] })).toThrow(/for CNN and MLP models/);
    const q = decodeModel(encodeModel(g)).graph;
    quantizeGraph(q, 'int8', { keep: new Set() });
    expect(() => pruneStructured(q, { heads: 2 })).toThrow(/prune before you quantize/);
    const bare = decodeModel(encodeModel(buildModel(parseModelSpec('mlp:hidden=8'), imageShape, { seed: 0 }).graph)).graph;
    expect(() => pruneStructured(bare, { hidden: [4] })).toThrow(/no minnow.model/);
  });
});

describe('pruneMagnitude (one shot)', () => {
  it('zeros the smallest weights of all MatMul and Conv weights together, and nothing else', () => {
    const g = model(parseModelSpec('cnn:channels=4-6,hidden=10'), imageShape);
    const biasBefore = [...g.initializers.get('fc.bias')!.data];
    const report = pruneMagnitude(g, 0.5);
    expect(report.pruned.sort()).toEqual(['conv0.weight', 'conv1.weight', 'fc.weight', 'head.weight']);
    expect(report.sparsity).toBeCloseTo(0.5, 2);
    expect([...g.initializers.get('fc.bias')!.data]).toEqual(biasBefore);
    expect(() => pruneMagnitude(g, 1)).toThrow(/\[0, 1\)/);
  });
});
