// In-place updates: onnxruntime writes the new weights and optimizer state into the old ones' memory.
// Only where every read of the old value comes before the write (in-place.ts), the same numbers as
// fresh outputs to the last bit, and never into memory the trainer did not allocate.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/onnx/graph.js';
import { inPlacePairs } from '../../src/train/in-place.js';
import { buildModel } from '../../src/nn/models.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { Rng } from '../../src/format/rng.js';

const arch = { kind: 'transformer' as const, layers: 2, dim: 16, heads: 2, ff: 32, ctx: 8 };
const options: TrainerOptions = { task: 'lm', optimizer: { kind: 'adamw', weightDecay: 0.01 }, lr: 1e-2, warmupSteps: 0, totalSteps: 10, maxGradNorm: 1, threads: 1 };

const make = (extra: Partial<TrainerOptions> = {}) =>
  Trainer.create((training) => buildModel(arch, { task: 'lm', vocabSize: 20 }, { seed: 0, training }), { ...options, ...extra });

async function steps(trainer: Trainer, n: number): Promise<number[]> {
  const rng = new Rng(3), losses: number[] = [];
  for (let step = 0; step < n; step++) {
    const ids = Array.from({ length: 2 * 8 }, () => rng.int(20));
    losses.push((await trainer.trainStep({ input_ids: Tensor.fromNumbers('int64', [2, 8], ids), labels: Tensor.fromNumbers('int64', [2, 8], ids.map((i) => (i + 1) % 20)) })).loss);
  }
  return losses;
}

const values = (m: Map<string, Tensor>) => new Map([...m].map(([k, t]) => [k, Array.from(t.data as Float32Array)]));

describe('inPlacePairs', () => {
  it('refuses an update that a reader of its input may follow, and takes one that every reader precedes', () => {
    const g = new Graph('t');
    g.input('w', 'float32', [4]);
    g.input('x', 'float32', [4]);
    const sum = g.output(g.op1('ReduceSum', [g.op1('Mul', ['w', 'x'])], { keepdims: 0 }));
    // onnxruntime may run this Sub before the Mul above: writing it into w would change the sum.
    const early = g.output(g.op1('Sub', ['w', 'x']));
    // This one needs the sum, so every read of w is over before it runs.
    const late = g.output(g.op1('Sub', ['w', g.op1('Mul', ['x', sum])]));
    expect(inPlacePairs(g, [{ input: 'w', output: early }])).toEqual([]);
    expect(inPlacePairs(g, [{ input: 'w', output: late }])).toEqual([]); // `early` still reads w
    g.outputs.splice(g.outputs.indexOf(early), 1);
    g.nodes.splice(g.nodes.findIndex((n) => n.outputs[0] === early), 1);
    expect(inPlacePairs(g, [{ input: 'w', output: late }])).toEqual([{ input: 'w', output: late }]);
  });
});

describe('trainer in-place updates', () => {
  it('trains to the same weights, state and losses as fresh outputs, to the last bit, in the same tensors', async () => {
    const [inPlace, fresh] = [await make(), await make({ inPlace: false })];
    await steps(inPlace, 1);
    const first = new Map(inPlace.params);
    const firstState = new Map(inPlace.state);
    const losses = await steps(inPlace, 3);
    await steps(fresh, 1);
    expect(await steps(fresh, 3)).toEqual(losses);
    expect(values(inPlace.params)).toEqual(values(fresh.params));
    expect(values(inPlace.state)).toEqual(values(fresh.state));
    // With clipping every update waits for every gradient: all of them are written in place.
    for (const [name, t] of inPlace.params) expect(t).toBe(first.get(name));
    for (const [name, t] of inPlace.state) expect(t).toBe(firstState.get(name));
    for (const [name, t] of fresh.params) expect(t).not.toBe(first.get(name));
  });

  it('without clipping writes in place only the updates that wait for every read, with the same numbers', async () => {
    const [inPlace, fresh] = [await make({ maxGradNorm: 0 }), await make({ maxGradNorm: 0, inPlace: false })];
    await steps(inPlace, 1);
    const first = new Map(inPlace.params);
    await steps(inPlace, 2);
    await steps(fresh, 1);
    await steps(fresh, 2);
    expect(values(inPlace.params)).toEqual(values(fresh.params));
    const kept = [...inPlace.params].filter(([name, t]) => t === first.get(name)).length;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(inPlace.params.size);
  });

  it('copies weights set from outside before writing, so their source is never changed', async () => {
    const trainer = await make();
    const shared = new Float32Array(2 * 16);
    const [a, b] = ['layers.0.ln1.weight', 'layers.0.ln1.bias'];
    expect(trainer.params.get(a)!.size).toBe(16);
    shared.fill(0.5);
    trainer.params.set(a, new Tensor('float32', [16], shared.subarray(0, 16)));
    trainer.params.set(b, new Tensor('float32', [16], shared.subarray(16)));
    await steps(trainer, 2);
    expect(Array.from(shared)).toEqual(new Array(32).fill(0.5));
    expect(Array.from(trainer.params.get(a)!.data as Float32Array)).not.toEqual(new Array(16).fill(0.5));
  });
});
