import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { decodeModel } from '../../src/onnx/codec.js';
import { META } from '../../src/format/metadata.js';
import { tokenizerJsonOf } from '../../src/format/tokenizer.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-init-'));
const MODEL = 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=32';
const weightsOf = (dir: string) => decodeModel(readFileSync(path.join(dir, 'model.onnx'))).graph;

describe('--init-from a language model into a classifier', () => {
  it('carries the pretrained body and tokenizer over bit for bit, and gives the classifier a fresh head', async () => {
    const lm = tmp();
    await train({ task: 'lm', data: 'spam', model: MODEL, tokenizer: 'bpe', vocabSize: 300, maxSteps: 3, lr: 3e-3, out: lm, dataOptions: { limit: 20_000 } });
    const pretrained = weightsOf(lm);

    const events: string[] = [];
    const cls = tmp();
    await train({
      task: 'classify', data: 'spam', initFrom: path.join(lm, 'model.onnx'), maxSteps: 0, out: cls, dataOptions: { limit: 64 },
      onEvent: (e) => { if (e.type === 'log') events.push(e.message); },
    });
    const started = weightsOf(cls);
    expect(started.metadata.get(META.task)).toBe('classify');
    expect(started.metadata.get(META.model)).toBe(MODEL);
    expect(tokenizerJsonOf(started.metadata)).toBe(tokenizerJsonOf(pretrained.metadata));
    for (const name of ['tok_emb.weight', 'pos_emb.weight', 'layers.0.attn.qkv.weight', 'ln_f.weight']) {
      expect(started.initializers.has(name), name).toBe(true);
      expect([...started.initializers.get(name)!.data], name).toEqual([...pretrained.initializers.get(name)!.data]);
    }
    // The LM's head maps to the vocabulary (300 tokens); the classifier's to its 2 labels.
    expect(pretrained.initializers.get('head.weight')!.dims).toEqual([32, 300]);
    expect(started.initializers.get('head.weight')!.dims).toEqual([32, 2]);
    expect(events.some((m) => /the lm model's body; head\.weight, head\.bias start fresh/.test(m))).toBe(true);
  }, 120_000);

  it('refuses the other direction and other tasks', async () => {
    const cls = tmp();
    await train({ task: 'classify', data: 'spam', model: MODEL, vocabSize: 300, maxSteps: 1, out: cls, dataOptions: { limit: 64 } });
    await expect(train({ task: 'lm', data: 'spam', initFrom: path.join(cls, 'model.onnx'), maxSteps: 0, out: tmp(), dataOptions: { limit: 2000 } }))
      .rejects.toThrow(/a --task classify model cannot start a --task lm run$/);
    const img = tmp();
    await train({ task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=8', maxSteps: 1, out: img, dataOptions: { limit: 64 } });
    await expect(train({ task: 'classify', data: 'spam', initFrom: path.join(img, 'model.onnx'), maxSteps: 0, out: tmp(), dataOptions: { limit: 64 } }))
      .rejects.toThrow(/a --task image model cannot start a --task classify run \(of other tasks, only a language model can start a classifier\)/);
  }, 120_000);
});
