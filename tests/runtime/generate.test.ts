// Generation: the KV-cache decoder gives the same greedy tokens as re-running the full model.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { loadModel, pickToken } from '../../runtime/index.js';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'minnow-gen-'));
  await train({ task: 'lm', data: 'moby-dick', model: 'transformer:layers=2,dim=32,heads=4,ff=64,ctx=64', epochs: 1, batch: 16, lr: 3e-3, out: dir, dataOptions: { limit: 30_000 } });
});

async function collect(gen: AsyncGenerator<string>): Promise<string> {
  let s = '';
  for await (const piece of gen) s += piece;
  return s;
}

describe('generate', () => {
  it('writes decoder.onnx next to model.onnx', () => {
    expect(existsSync(path.join(dir, 'decoder.onnx'))).toBe(true);
  });

  it('greedy: the KV cache gives the tokens a full re-run gives', async () => {
    const cached = await loadModel(path.join(dir, 'decoder.onnx'), { ort: ortNode as never });
    const full = await loadModel(path.join(dir, 'model.onnx'), { ort: ortNode as never });
    expect(cached.hasKvCache).toBe(true);
    expect(full.hasKvCache).toBe(false);
    for (const prompt of ['Call me Ishmael. ', 'The whale', 'é']) {
      const a = await collect(cached.generate(prompt, { maxTokens: 40 }));
      const b = await collect(full.generate(prompt, { maxTokens: 40 }));
      expect(a.length).toBeGreaterThan(0);
      expect(a).toBe(b);
    }
  });

  it('stops at a stop string, at maxTokens, at the context, and on abort', async () => {
    const model = await loadModel(path.join(dir, 'decoder.onnx'), { ort: ortNode as never });
    const free = await collect(model.generate('Call me', { maxTokens: 30 }));
    const stopAt = free.slice(5, 7);
    const stopped = await collect(model.generate('Call me', { maxTokens: 30, stop: [stopAt] }));
    expect(free.startsWith(stopped)).toBe(true);
    expect(stopped).not.toContain(stopAt);
    expect((await collect(model.generate('Call me', { maxTokens: 5 }))).length).toBeLessThanOrEqual(5);
    // The context (64) bounds prompt + output.
    expect((await collect(model.generate('x'.repeat(60), { maxTokens: 50 }))).length).toBeLessThanOrEqual(4);
    const controller = new AbortController();
    controller.abort();
    await expect(collect(model.generate('Call me', { signal: controller.signal }))).rejects.toThrow();
    await expect(collect(model.generate('y'.repeat(64)))).rejects.toThrow(/context is 64/);
  });

  it('samples with temperature, top-k and top-p, reproducibly with a seed', async () => {
    const model = await loadModel(path.join(dir, 'decoder.onnx'), { ort: ortNode as never });
    const a = await collect(model.generate('The ', { maxTokens: 20, temperature: 1, topK: 10, topP: 0.9, seed: 7 }));
    const b = await collect(model.generate('The ', { maxTokens: 20, temperature: 1, topK: 10, topP: 0.9, seed: 7 }));
    expect(a).toBe(b);
    const logits = Float32Array.from([0, 5, 1, 4]);
    expect(pickToken(logits, {}, Math.random)).toBe(1);
    for (let i = 0; i < 50; i++) expect([1, 3]).toContain(pickToken(logits, { temperature: 1, topK: 2 }, Math.random));
  });
});
