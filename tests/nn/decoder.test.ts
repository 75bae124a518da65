// The KV-cache decoder computes what the full LM computes: all at once, and token by token.
import { describe, expect, it } from 'vitest';
import { buildModel, type TransformerConfig } from '../../src/nn/models.js';
import { decoderFromTrained } from '../../src/nn/decoder.js';
import { pastKeyName, pastValueName, presentKeyName, presentValueName } from '../../src/format/names.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';

const VOCAB = 30;
// The second has the head width of a structured-pruned model: 3 heads of 8 over dim 32.
const archs: TransformerConfig[] = [
  { kind: 'transformer', layers: 2, dim: 32, heads: 4, ff: 64, ctx: 24 },
  { kind: 'transformer', layers: 2, dim: 32, heads: 3, headDim: 8, ff: 64, ctx: 24 },
];

describe('decoder with past keys/values', () => {
  for (const arch of archs) it(`matches the full model at once and incrementally (${arch.heads} heads of ${arch.headDim ?? arch.dim / arch.heads})`, async () => {
    const heads = arch.heads, headDim = arch.headDim ?? arch.dim / arch.heads;
    const lm = buildModel(arch, { task: 'lm', vocabSize: VOCAB }, { seed: 4 });
    const full = await createSession(encodeModel(lm.graph));
    const dec = await createSession(encodeModel(decoderFromTrained(lm.graph, arch, VOCAB)));
    const tokens = [3, 7, 1, 29, 4, 4, 18, 2, 9, 11];
    const expected = (await run(full, { input_ids: Tensor.fromNumbers('int64', [1, tokens.length], tokens) })).logits!.data as Float32Array;
    const empty = () => new Tensor('float32', [1, heads, 0, headDim], new Float32Array(0));
    const pasts: Record<string, Tensor> = {};
    for (let i = 0; i < arch.layers; i++) { pasts[pastKeyName(i)] = empty(); pasts[pastValueName(i)] = empty(); }
    // Prefix of 6 at once, then one token at a time.
    const first = await run(dec, { input_ids: Tensor.fromNumbers('int64', [1, 6], tokens.slice(0, 6)), ...pasts });
    const got: number[] = Array.from(first.logits!.data as Float32Array);
    let state = first;
    for (let t = 6; t < tokens.length; t++) {
      const feeds: Record<string, Tensor> = { input_ids: Tensor.fromNumbers('int64', [1, 1], [tokens[t]!]) };
      for (let i = 0; i < arch.layers; i++) { feeds[pastKeyName(i)] = state[presentKeyName(i)]!; feeds[pastValueName(i)] = state[presentValueName(i)]!; }
      state = await run(dec, feeds);
      got.push(...(state.logits!.data as Float32Array));
      expect(state[presentKeyName(0)]!.dims).toEqual([1, heads, t + 1, headDim]);
    }
    expect(got.length).toBe(expected.length);
    let max = 0;
    for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs(got[i]! - expected[i]!));
    expect(max).toBeLessThan(1e-4);
  });
});
