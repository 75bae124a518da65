// Model specs: presets and key=value strings parse into architectures, formatModelSpec writes them
// back, and bad specs get errors that name the key.
import { describe, expect, it } from 'vitest';
import { PRESETS, formatModelSpec, parseModelSpec } from '../../src/nn/spec.js';
import { buildModel } from '../../src/nn/models.js';

describe('model specs', () => {
  it('every preset round-trips through formatModelSpec', () => {
    for (const name of Object.keys(PRESETS)) {
      const arch = parseModelSpec(name);
      expect(parseModelSpec(formatModelSpec(arch)), name).toEqual(arch);
    }
  });

  it('head_dim decouples the attention width from dim', () => {
    const arch = parseModelSpec('transformer:layers=1,dim=40,heads=1,head_dim=32,ff=64,ctx=8');
    expect(arch).toMatchObject({ dim: 40, heads: 1, headDim: 32 });
    expect(formatModelSpec(arch)).toBe('transformer:layers=1,dim=40,heads=1,head_dim=32,ff=64,ctx=8');
    const g = buildModel(arch, { task: 'classify', vocabSize: 10, numClasses: 2 }, { seed: 0 }).graph;
    expect(g.initializers.get('layers.0.attn.qkv.weight')!.dims).toEqual([40, 96]);
    expect(g.initializers.get('layers.0.attn.out.weight')!.dims).toEqual([32, 40]);
  });

  it('rejects what it cannot build, naming the key', () => {
    expect(() => parseModelSpec('transformer:dim=40,heads=3')).toThrow(/dim 40 must be divisible by heads 3 \(or give head_dim\)/);
    expect(() => parseModelSpec('transformer:width=3')).toThrow(/unknown key 'width'/);
    expect(() => parseModelSpec('cnn:channels=8-x')).toThrow(/channels=8-x/);
    expect(() => parseModelSpec('rnn:layers=2')).toThrow(/unknown model spec 'rnn:layers=2'/);
  });
});
