// Quantization-aware training: the forward pass sees each weight as `minnow compress` will store it,
// so the exported model already sits on the quantized grid and compressing it changes nothing.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { buildModel } from '../../src/nn/models.js';
import { decodeModel, encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';
import { compressModel } from '../../src/compress/compress.js';
import { fakeQuantPlan } from '../../src/compress/quantize/schemes.js';
import { evaluateModel, evaluateModelFile } from '../../src/train/evaluate.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-qat-'));

describe('fakeQuantPlan', () => {
  it('covers the weights the quantizers rewrite, held-back ones included', () => {
    const g = buildModel({ kind: 'transformer', layers: 1, dim: 32, heads: 2, ff: 64, ctx: 8 }, { task: 'classify', vocabSize: 20, numClasses: 3 }, { seed: 0 }).graph;
    const copy = () => decodeModel(encodeModel(g)).graph;
    for (const quantize of ['int8', 'int4'] as const) {
      const plan = fakeQuantPlan(g, { quantize, blockSize: 32 });
      const { report } = compressModel(encodeModel(copy()), { quantize, blockSize: 32 });
      // int4 holds the head back at int8, which the plan fakes too; int8 keeps the head float.
      const expected = quantize === 'int4' ? [...report.quantized, ...report.kept] : report.quantized;
      expect([...plan.keys()].sort(), quantize).toEqual(expected.sort());
    }
  });
});

describe('train --qat', () => {
  it('int4: the exported weights are on the int4 grid, and compressing them gives the same model', async () => {
    const out = tmp();
    const data = { limit: 640 };
    const report = await train({ task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=64', epochs: 1, batch: 32, lr: 3e-3, out, dataOptions: data, qat: { quantize: 'int4', blockSize: 16 } });
    expect(report.qat).toEqual({ quantize: 'int4', blockSize: 16 });
    const accuracy = (report.metrics as { accuracy: number }).accuracy;
    expect(accuracy).toBeGreaterThan(0.5);
    const file = path.join(out, 'model.onnx');
    const bytes = readFileSync(file);
    const { bytes: int4 } = compressModel(bytes, { quantize: 'int4', blockSize: 16 });
    const rng = new Rng(3);
    const pixels = Tensor.fromNumbers('float32', [4, 1, 28, 28], Array.from({ length: 4 * 784 }, () => rng.normal()));
    const a = (await run(await createSession(bytes), { pixels })).logits!.data as Float32Array;
    const b = (await run(await createSession(int4), { pixels })).logits!.data as Float32Array;
    let max = 0;
    a.forEach((v, i) => { max = Math.max(max, Math.abs(v - b[i]!)); });
    expect(max).toBeLessThan(1e-4);
    // The reported accuracy is the quantized model's.
    expect((await evaluateModelFile(file, { data: 'fashion-mnist', dataOptions: data })).accuracy).toBeCloseTo(accuracy, 6);
    expect((await evaluateModel(int4, { data: 'fashion-mnist', dataOptions: data })).accuracy).toBeCloseTo(accuracy, 2);
  });
});
