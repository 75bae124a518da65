// A whole pre-LN Transformer's parameter gradients against central finite differences, in float64
// (ReLU FFN: onnxruntime has no float64 Gelu) and in float32 with the Gelu FFN.
import { describe, expect, it } from 'vitest';
import { buildModel, type TransformerConfig } from '../../src/nn/models.js';
import { grad } from '../../src/autodiff/grad.js';
import { crossEntropy } from '../../src/train/losses.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor, type DType } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';

async function checkTransformer(task: 'classify' | 'lm', dtype: DType, activation: 'relu' | 'gelu') {
  const arch: TransformerConfig = { kind: 'transformer', layers: 2, dim: 8, heads: 2, ff: 12, ctx: 5, activation };
  const model = buildModel(arch, { task, vocabSize: 7, numClasses: 3 }, { seed: 3, dtype });
  const g = model.graph;
  const params = [...g.params];
  const values = new Map(params.map((p) => [p, g.initializers.get(p)!]));
  for (const p of params) g.initializerToInput(p);
  const labels = g.input('labels', 'int64', task === 'lm' ? ['batch', 'seq'] : ['batch']);
  const loss = crossEntropy(g, model.logits, labels);
  const grads = grad(g, loss, params);
  g.outputs.length = 0;
  g.output(loss);
  for (const p of params) g.output(g.alias(grads.get(p)!, `grad.${p}`));
  const session = await createSession(encodeModel(g));

  const feeds: Record<string, Tensor> = Object.fromEntries(values);
  feeds.input_ids = Tensor.fromNumbers('int64', [2, 4], [1, 5, 2, 6, 3, 3, 0, 4]);
  if (task === 'classify') {
    feeds.attention_mask = Tensor.fromNumbers('int64', [2, 4], [1, 1, 1, 1, 1, 1, 0, 0]);
    feeds.labels = Tensor.fromNumbers('int64', [2], [2, 0]);
  } else {
    feeds.labels = Tensor.fromNumbers('int64', [2, 4], [5, 2, 6, 1, 3, 0, 4, 2]);
  }
  const analytic = await run(session, feeds);
  const rng = new Rng(11);
  const eps = dtype === 'float64' ? 1e-6 : 1e-2;
  const lossAt = async () => Number((await run(session, feeds, [loss]))[loss]!.data[0]);
  let checked = 0;
  const failures: string[] = [];
  for (const p of params) {
    const x = feeds[p]!;
    const gA = analytic[`grad.${p}`]!;
    // Three random coordinates of every parameter tensor.
    for (let k = 0; k < 3; k++) {
      const i = rng.int(x.size);
      const orig = Number(x.data[i]);
      (x.data as Float64Array)[i] = orig + eps; const plus = await lossAt();
      (x.data as Float64Array)[i] = orig - eps; const minus = await lossAt();
      (x.data as Float64Array)[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const analyticValue = Number(gA.data[i]);
      const tol = dtype === 'float64' ? 1e-6 + 1e-5 * Math.abs(numeric) : 2e-3 + 3e-2 * Math.abs(numeric);
      if (Math.abs(numeric - analyticValue) > tol) failures.push(`${p}[${i}]: analytic ${analyticValue} vs numeric ${numeric}`);
      checked++;
    }
  }
  return { checked, failures, params: params.length };
}

describe('whole pre-LN Transformer gradients', () => {
  it('encoder classifier, float64', async () => {
    const r = await checkTransformer('classify', 'float64', 'relu');
    expect(r.failures).toEqual([]);
    expect(r.params).toBeGreaterThan(20);
  });
  it('decoder LM with causal mask, float64', async () => {
    const r = await checkTransformer('lm', 'float64', 'relu');
    expect(r.failures).toEqual([]);
  });
  it('encoder classifier with Gelu, float32', async () => {
    const r = await checkTransformer('classify', 'float32', 'gelu');
    expect(r.failures).toEqual([]);
  });
});
