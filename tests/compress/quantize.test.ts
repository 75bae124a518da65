// int8 and int4 rewrites: outputs in onnxruntime-node and -web against a fake-quantized reference
// (the same graph in float32 with the dequantized weights, and for int8 the activations passed
// through DynamicQuantizeLinear/DequantizeLinear).
import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { buildModel, type ArchConfig, type ModelShape } from '../../src/nn/models.js';
import { encodeModel, decodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import type { Graph } from '../../src/onnx/graph.js';
import { Rng } from '../../src/format/rng.js';
import { quantizePerColumn, quantizePerRow } from '../../src/compress/quantize/int8.js';
import { quantizeGraph } from '../../src/compress/quantize/schemes.js';
import { dequantizeInt4, dequantizeTableInt4, quantizeInt4, quantizeTableInt4, tableBlockSize } from '../../src/compress/quantize/int4.js';
import { convSites, gatherSites, matmulSites } from '../../src/compress/weights.js';

ortWeb.env.wasm.numThreads = 1;
const rng = new Rng(9);

const transformer: [ArchConfig, ModelShape] = [{ kind: 'transformer', layers: 2, dim: 64, heads: 4, ff: 128, ctx: 16 }, { task: 'classify', vocabSize: 40, numClasses: 3 }];
const mlp: [ArchConfig, ModelShape] = [{ kind: 'mlp', hidden: [64] }, { task: 'image', numClasses: 10, imageShape: [1, 8, 8] }];
const cnn: [ArchConfig, ModelShape] = [{ kind: 'cnn', channels: [4, 6], hidden: 128 }, { task: 'image', numClasses: 10, imageShape: [1, 16, 16] }];

function feedsFor(shape: ModelShape): Record<string, Tensor> {
  if (shape.task === 'image') {
    const [c, h, w] = shape.imageShape!;
    return { pixels: Tensor.fromNumbers('float32', [3, c, h, w], Array.from({ length: 3 * c * h * w }, () => rng.normal())) };
  }
  return {
    input_ids: Tensor.fromNumbers('int64', [2, 10], Array.from({ length: 20 }, () => rng.int(40))),
    attention_mask: Tensor.fromNumbers('int64', [2, 10], [...Array(10).fill(1), ...Array(6).fill(1), 0, 0, 0, 0]),
  };
}

/** A fresh copy of the model graph (quantizers rewrite in place). */
const copy = (g: Graph) => decodeModel(encodeModel(g)).graph;

/** Float reference: dequantized weights, and (int8) fake-quantized activations, via the same ops. */
function int8Reference(g: Graph): Graph {
  const ref = copy(g);
  for (const site of matmulSites(ref)) {
    const w = ref.initializers.get(site.weight)!;
    const { q, scale } = quantizePerColumn(w);
    const deq = Float32Array.from(q, (v, i) => v * scale[i % site.n]!);
    ref.initializers.set(site.weight, new Tensor('float32', w.dims, deq));
    const at = ref.nodes.indexOf(site.node);
    const before = ref.nodes.length;
    const [xq, xs, xzp] = ref.op('DynamicQuantizeLinear', [site.node.inputs[0]!], {}, { outputs: 3 });
    const x = ref.op1('DequantizeLinear', [xq!, xs!, xzp!]);
    const added = ref.nodes.splice(before);
    ref.nodes.splice(at, 0, ...added);
    site.node.inputs[0] = x;
  }
  for (const site of convSites(ref)) {
    const w = ref.initializers.get(site.weight)!;
    const { q, scale } = quantizePerRow(new Tensor('float32', [site.out, site.row], w.data));
    ref.initializers.set(site.weight, new Tensor('float32', w.dims, Float32Array.from(q, (v, i) => v * scale[Math.floor(i / site.row)]!)));
  }
  for (const site of gatherSites(ref)) {
    const t = ref.initializers.get(site.table)!;
    const { q, scale } = quantizePerRow(t);
    ref.initializers.set(site.table, new Tensor('float32', t.dims, Float32Array.from(q, (v, i) => v * scale[Math.floor(i / site.dim)]!)));
  }
  return ref;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function runBoth(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<{ node: Float32Array; web: Float32Array }> {
  const node = (await run(await createSession(bytes), feeds)).logits!.data as Float32Array;
  const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const out = await web.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.dtype, t.data as never, t.dims)])));
  return { node, web: out.logits!.data as Float32Array };
}

describe('int8 quantization', () => {
  it('per-column and per-row codes reconstruct within half a step', () => {
    const w = Tensor.fromNumbers('float32', [5, 3], Array.from({ length: 15 }, () => rng.normal()));
    const { q, scale } = quantizePerColumn(w);
    (w.data as Float32Array).forEach((v, i) => expect(Math.abs(q[i]! * scale[i % 3]! - v)).toBeLessThanOrEqual(scale[i % 3]! / 2 + 1e-7));
    const r = quantizePerRow(w);
    (w.data as Float32Array).forEach((v, i) => expect(Math.abs(r.q[i]! * r.scale[Math.floor(i / 3)]! - v)).toBeLessThanOrEqual(r.scale[Math.floor(i / 3)]! / 2 + 1e-7));
  });

  for (const [name, [arch, shape]] of [['Transformer', transformer], ['MLP', mlp], ['CNN', cnn]] as const) {
    it(`${name}: MatMulInteger graph matches the fake-quant reference in node and web`, async () => {
      const model = buildModel(arch, shape, { seed: 2 });
      const reference = int8Reference(model.graph);
      const q = copy(model.graph);
      const report = quantizeGraph(q, 'int8', { keep: new Set() });
      expect(report.quantized.length).toBeGreaterThan(0);
      const bytes = encodeModel(q);
      expect(bytes.length).toBeLessThan(encodeModel(model.graph).length * 0.35);
      const feeds = feedsFor(shape);
      const expected = (await run(await createSession(encodeModel(reference)), feeds)).logits!.data as Float32Array;
      const { node, web } = await runBoth(bytes, feeds);
      expect(maxDiff(node, expected)).toBeLessThan(1e-4);
      expect(maxDiff(web, expected)).toBeLessThan(1e-4);
    });
  }
});

describe('int4 quantization (MatMulNBits)', () => {
  it('packs codes low nibble first and dequantizes within half a step', () => {
    for (const symmetric of [true, false]) {
      const w = Tensor.fromNumbers('float32', [40, 3], Array.from({ length: 120 }, () => rng.normal()));
      const q = quantizeInt4(w, 16, symmetric);
      expect(q.packed.length).toBe(3 * 3 * 8);
      const deq = dequantizeInt4(q, 40, 3, 16);
      (w.data as Float32Array).forEach((v, i) => {
        const scale = q.scales[(i % 3) * q.blocks + Math.floor(Math.floor(i / 3) / 16)]!;
        expect(Math.abs(deq[i]! - v)).toBeLessThanOrEqual(scale / 2 + 1e-6);
      });
    }
  });

  it('embedding tables: int4 codes per row block, low nibble first, within half a step', () => {
    const t = Tensor.fromNumbers('float32', [5, 8], Array.from({ length: 40 }, () => rng.normal()));
    const q = quantizeTableInt4(t, 4);
    expect(q.packed.length).toBe(20);
    expect(q.scales.length).toBe(10);
    const deq = dequantizeTableInt4(q, 5, 8);
    (t.data as Float32Array).forEach((v, i) => expect(Math.abs(deq[i]! - v)).toBeLessThanOrEqual(q.scales[Math.floor(i / 4)]! / 2 + 1e-6));
    expect(tableBlockSize(64, 32)).toBe(32);
    expect(tableBlockSize(48, 32)).toBe(48);
  });

  const cases = [[64, true], [64, false], [48, true]] as const;
  for (const [dim, symmetric] of cases) {
    it(`Transformer dim ${dim}, block 32, ${symmetric ? 'symmetric' : 'zero points'}: matches the dequantized reference in node and web`, async () => {
      const arch = { ...transformer[0], dim } as ArchConfig;
      const model = buildModel(arch, transformer[1], { seed: 3 });
      const reference = copy(model.graph);
      for (const site of matmulSites(reference)) {
        if (site.k < 32) continue;
        const w = reference.initializers.get(site.weight)!;
        reference.initializers.set(site.weight, new Tensor('float32', w.dims, dequantizeInt4(quantizeInt4(w, 32, symmetric), site.k, site.n, 32)));
      }
      for (const site of gatherSites(reference)) {
        const t = reference.initializers.get(site.table)!;
        reference.initializers.set(site.table, new Tensor('float32', t.dims, dequantizeTableInt4(quantizeTableInt4(t, tableBlockSize(site.dim, 32)), site.rows, site.dim)));
      }
      const q = copy(model.graph);
      const report = quantizeGraph(q, 'int4', { keep: new Set(), blockSize: 32, symmetric });
      // 4 matrices per layer and the head, then the token and position tables.
      expect(report.quantized.length).toBe(2 * 4 + 1 + 2);
      expect(report.quantized.slice(-2)).toEqual(['tok_emb.weight', 'pos_emb.weight']);
      const feeds = feedsFor(transformer[1]);
      const expected = (await run(await createSession(encodeModel(reference)), feeds)).logits!.data as Float32Array;
      const { node, web } = await runBoth(encodeModel(q), feeds);
      expect(maxDiff(node, expected)).toBeLessThan(1e-4);
      expect(maxDiff(web, expected)).toBeLessThan(1e-4);
    });
  }

  it('CNN: int4 conv filters (rows of odd length held back at int8) match the dequantized reference in node and web', async () => {
    const model = buildModel(cnn[0], cnn[1], { seed: 4 });
    const reference = copy(model.graph);
    for (const site of convSites(reference)) {
      const w = reference.initializers.get(site.weight)!;
      if (site.row % 2) {
        // Odd rows cannot pack two codes a byte: the filter is held back at int8 instead.
        const { q, scale } = quantizePerRow(new Tensor('float32', [site.out, site.row], w.data));
        reference.initializers.set(site.weight, new Tensor('float32', w.dims, Float32Array.from(q, (v, i) => v * scale[Math.floor(i / site.row)]!)));
        continue;
      }
      reference.initializers.set(site.weight, new Tensor('float32', w.dims, dequantizeTableInt4(quantizeTableInt4(new Tensor('float32', [site.out, site.row], w.data), tableBlockSize(site.row, 32)), site.out, site.row)));
    }
    for (const site of matmulSites(reference)) {
      if (site.k < 32) continue;
      const w = reference.initializers.get(site.weight)!;
      reference.initializers.set(site.weight, new Tensor('float32', w.dims, dequantizeInt4(quantizeInt4(w, 32, true), site.k, site.n, 32)));
    }
    const q = copy(model.graph);
    const report = quantizeGraph(q, 'int4', { keep: new Set(), blockSize: 32 });
    expect(report.quantized).toEqual(['fc.weight', 'head.weight', 'conv1.weight']);
    expect(report.kept).toEqual(['conv0.weight']);
    expect(q.initializers.get('conv0.weight.int8')!.dtype).toBe('int8');
    const feeds = feedsFor(cnn[1]);
    const expected = (await run(await createSession(encodeModel(reference)), feeds)).logits!.data as Float32Array;
    const { node, web } = await runBoth(encodeModel(q), feeds);
    expect(maxDiff(node, expected)).toBeLessThan(1e-4);
    expect(maxDiff(web, expected)).toBeLessThan(1e-4);
  });

  it('rejects unsupported block sizes', () => {
    expect(() => quantizeGraph(copy(buildModel(mlp[0], mlp[1], { seed: 1 }).graph), 'int4', { keep: new Set(), blockSize: 24 })).toThrow(/16, 32, 64 or 128/);
  });
});
