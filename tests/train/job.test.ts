// The train job end to end on small slices of real data: outputs, resume determinism, metadata.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train, type TrainEvent, type TrainJobOptions } from '../../src/train/job.js';
import { inspectModelFile, evaluateModelFile } from '../../src/train/evaluate.js';
import { readOnnxFile } from '../../src/onnx/model-file.js';
import { META } from '../../src/format/metadata.js';
import { graphWeightsDigest } from '../../src/onnx/digest.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-job-'));

function collectLosses(): { losses: Map<number, number>; onEvent: (e: TrainEvent) => void } {
  const losses = new Map<number, number>();
  return { losses, onEvent: (e) => { if (e.type === 'step') losses.set(e.step, e.loss); } };
}

describe('train job', () => {
  it('writes model.onnx, checkpoint, metrics.jsonl and report.json (image, MLP)', async () => {
    const out = tmp();
    const report = await train({ task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=32', epochs: 1, batch: 32, lr: 3e-3, out, dataOptions: { limit: 640 } });
    expect(report.task).toBe('image');
    expect(report.steps).toBe(20);
    expect(report.params).toBe(784 * 32 + 32 + 32 * 10 + 10);
    expect('accuracy' in report.metrics && report.metrics.accuracy).toBeGreaterThan(0.5);
    for (const f of ['model.onnx', 'checkpoint/checkpoint.msgpack', 'metrics.jsonl', 'report.json']) expect(existsSync(path.join(out, f))).toBe(true);
    expect(JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')).size_bytes).toBe(readFileSync(path.join(out, 'model.onnx')).length);
    const summary = inspectModelFile(path.join(out, 'model.onnx'));
    expect(summary.params).toBe(report.params);
    expect(summary.metadata[META.task]).toBe('image');
    expect(summary.metadata[META.labels]).toHaveLength(10);
    expect(summary.ops.MatMul).toBe(2);
    const { graph } = readOnnxFile(path.join(out, 'model.onnx'));
    expect(graph.metadata.get(META.weightsSha256)).toBe(graphWeightsDigest(graph));
    const metrics = await evaluateModelFile(path.join(out, 'model.onnx'), { data: 'fashion-mnist', dataOptions: { limit: 640 } });
    expect(metrics.accuracy).toBeCloseTo((report.metrics as { accuracy: number }).accuracy, 6);
  });

  const unaugmented = new Map<number, number>();
  for (const augment of [false, true]) it(`resuming from a checkpoint gives the same losses as a run that never stopped${augment ? ' (augmented)' : ''}`, async () => {
    const base: Omit<TrainJobOptions, 'out'> = { task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=32', epochs: 2, batch: 16, lr: 3e-3, vocabSize: 300, dataOptions: { limit: 96 }, augment };
    const straight = collectLosses();
    await train({ ...base, out: tmp(), onEvent: straight.onEvent });
    const out = tmp();
    const first = collectLosses();
    const partial = await train({ ...base, out, maxSteps: 7, onEvent: first.onEvent });
    expect(partial.steps).toBe(7);
    expect((await loadCheckpoint(path.join(out, 'checkpoint'))).cursor).toEqual({ epoch: 1, index: 1 });
    const second = collectLosses();
    await train({ ...base, out, resume: out, onEvent: second.onEvent });
    expect(straight.losses.size).toBe(12);
    for (const [step, loss] of straight.losses) {
      const resumed = first.losses.get(step) ?? second.losses.get(step);
      expect(resumed, `step ${step}`).toBeCloseTo(loss, 5);
    }
    // Augmented batches (random windows of mails longer than ctx) train on other inputs.
    if (!augment) for (const [k, v] of straight.losses) unaugmented.set(k, v);
    else expect([...straight.losses].some(([step, loss]) => Math.abs(loss - unaugmented.get(step)!) > 1e-3)).toBe(true);
  });

  it('language model: reports loss and bits per char', async () => {
    const out = tmp();
    const report = await train({ task: 'lm', data: 'moby-dick', model: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=16', epochs: 1, batch: 8, out, dataOptions: { limit: 4000 } });
    const m = report.metrics as { val_loss: number; bits_per_char: number };
    expect(m.bits_per_char).toBeCloseTo(m.val_loss / Math.LN2, 6);
    expect(m.val_loss).toBeLessThan(Math.log(100));
    expect(JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8')).model.type).toBe('WordLevel');
  });

  it('aborting writes a checkpoint and reports the run as interrupted', async () => {
    const out = tmp();
    const controller = new AbortController();
    const report = await train({
      task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=8', epochs: 1, batch: 16, out, dataOptions: { limit: 320 }, signal: controller.signal,
      onEvent: (e) => { if (e.type === 'step' && e.step === 3) controller.abort(); },
    });
    expect(report.interrupted).toBe(true);
    expect(report.steps).toBe(3);
    expect((await loadCheckpoint(path.join(out, 'checkpoint'))).step).toBe(3);
  });
});
