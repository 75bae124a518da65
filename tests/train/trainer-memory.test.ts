// The trainer's onnxruntime session options: the memory pattern off by default (bench/train-memory.ts
// measured 360-480 MB less at peak), with the same numbers as with it on, and an export graph that
// holds no second copy of the weights.
import { describe, expect, it } from 'vitest';
import { buildModel } from '../../src/nn/models.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';

const arch = { kind: 'transformer' as const, layers: 1, dim: 16, heads: 2, ff: 32, ctx: 8 };
const options: TrainerOptions = { task: 'lm', optimizer: { kind: 'adamw', weightDecay: 0.01 }, lr: 1e-2, warmupSteps: 0, totalSteps: 10, maxGradNorm: 1, threads: 1 };

async function trained(session?: TrainerOptions['session']): Promise<Trainer> {
  const trainer = await Trainer.create((training) => buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training }), { ...options, session });
  const rng = new Rng(3);
  for (let step = 0; step < 3; step++) {
    const ids = Array.from({ length: 2 * 8 }, () => rng.int(20));
    await trainer.trainStep({ input_ids: Tensor.fromNumbers('int64', [2, 8], ids), labels: Tensor.fromNumbers('int64', [2, 8], ids.map((i) => (i + 1) % 20)) });
  }
  return trainer;
}

describe('trainer memory', () => {
  it('trains to the same weights with the memory pattern off (the default), on, and with no arena', async () => {
    const [off, on, noArena] = [await trained(), await trained({ memoryPattern: true }), await trained({ arena: false })];
    for (const [name, t] of off.params) {
      expect(Array.from(on.params.get(name)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
      expect(Array.from(noArena.params.get(name)!.data as Float32Array)).toEqual(Array.from(t.data as Float32Array));
    }
  });

  it('keeps no copy of the weights in the export graph between exports', async () => {
    const trainer = await trained();
    for (const name of trainer.params.keys()) expect(trainer.exportGraph.graph.initializers.has(name)).toBe(false);
    expect(trainer.exportModel().length).toBeGreaterThan(0);
    for (const [name, t] of trainer.params) expect(trainer.exportGraph.graph.initializers.get(name)).toBe(t);
  });
});
