import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { decodeModel, encodeModel } from '../../src/onnx/codec.js';
import { buildModel } from '../../src/nn/models.js';
import { META } from '../../src/format/metadata.js';
import { tokenizerJsonOf } from '../../src/format/tokenizer.js';
import { graphWeightsDigest } from '../../src/onnx/digest.js';
import { compressModel } from '../../src/compress/compress.js';
import { distill } from '../../student/distill.js';

const root = path.resolve(__dirname, '../..');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-compress-'));
const minnow = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

describe('minnow compress', () => {
  it('int8 and int4 files keep the metadata, add the recipe and digest, and evaluate', async () => {
    const out = tmp();
    const report = await train({ task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=64x2', epochs: 1, batch: 32, lr: 3e-3, out, dataOptions: { limit: 640 } });
    const model = path.join(out, 'model.onnx');
    for (const [kind, extra] of [['int8', []], ['int4', ['--block-size', '32']]] as const) {
      const file = path.join(out, `${kind}.onnx`);
      const r = minnow('compress', model, '--quantize', kind, ...extra, '--out', file);
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.quantized.length).toBeGreaterThan(0);
      expect(summary.ratio).toBeLessThan(kind === 'int8' ? 0.35 : 0.3);
      const { graph } = decodeModel(readFileSync(file));
      expect(graph.metadata.get(META.task)).toBe('image');
      expect(JSON.parse(graph.metadata.get(META.compression)!)).toMatchObject({ quantize: kind, keep: 'last' });
      expect(graph.metadata.get(META.weightsSha256)).toBe(graphWeightsDigest(graph));
      const inspect = minnow('inspect', file);
      expect(inspect.status, inspect.stderr).toBe(0);
      expect(JSON.parse(inspect.stdout).ops).toHaveProperty(kind === 'int8' ? 'MatMulInteger' : 'com.microsoft.MatMulNBits');
      const ev = minnow('eval', file, '--data', 'fashion-mnist', '--limit', '640');
      expect(ev.status, ev.stderr).toBe(0);
      // Quantization noise moves accuracy a little, not a lot.
      expect(Math.abs(JSON.parse(ev.stdout).accuracy - (report.metrics as { accuracy: number }).accuracy)).toBeLessThan(0.05);
    }
  });

  it('--keep scan:N holds back the weights whose quantization raises the validation loss most', async () => {
    const out = tmp();
    await train({ task: 'image', data: 'fashion-mnist', model: 'mlp:hidden=64x2', epochs: 1, batch: 32, lr: 3e-3, out, dataOptions: { limit: 640 } });
    const file = path.join(out, 'scan.onnx');
    const r = minnow('compress', path.join(out, 'model.onnx'), '--quantize', 'int4', '--block-size', '16', '--keep', 'scan:1', '--data', 'fashion-mnist', '--limit', '640', '--out', file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/sensitivity scan: 3\/3 weights/);
    const summary = JSON.parse(r.stdout);
    const rows = summary.sensitivity as { weight: string; loss: number; increase: number }[];
    expect(rows.map((x) => x.weight).sort()).toEqual(['fc0.weight', 'fc1.weight', 'head.weight']);
    for (let i = 1; i < rows.length; i++) expect(rows[i - 1]!.increase).toBeGreaterThanOrEqual(rows[i]!.increase);
    expect(summary.kept).toEqual([rows[0]!.weight]);
    const bad = minnow('compress', path.join(out, 'model.onnx'), '--quantize', 'int4', '--keep', 'scan:1', '--out', file);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--keep scan:N needs --data/);
  });

  it('passes unknown ops through with a warning, and compresses a model without minnow metadata', () => {
    const model = buildModel({ kind: 'mlp', hidden: [64] }, { task: 'image', numClasses: 4, imageShape: [1, 8, 8] }, { seed: 1 });
    const g = model.graph;
    // An op minnow does not know, between the layers.
    const relu = g.nodes.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Softplus';
    const file = path.join(tmp(), 'plain.onnx');
    writeFileSync(file, encodeModel(g));
    const r = minnow('compress', file, '--quantize', 'int8', '--keep', 'none', '--out', path.join(path.dirname(file), 'q.onnx'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: ops minnow does not know were passed through unchanged: Softplus/);
    expect(JSON.parse(r.stdout).quantized).toEqual(['fc0.weight', 'head.weight']);
  });

  it('stores the tokenizer gzipped, and everything that reads it still does', async () => {
    const out = tmp();
    await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=16,heads=2,ff=32,ctx=32', epochs: 1, batch: 16, vocabSize: 300, out, dataOptions: { limit: 96 } });
    const model = path.join(out, 'model.onnx');
    const before = decodeModel(readFileSync(model)).graph;
    const file = path.join(out, 'int8.onnx');
    expect(minnow('compress', model, '--quantize', 'int8', '--out', file).status).toBe(0);
    const after = decodeModel(readFileSync(file)).graph;
    expect(after.metadata.has(META.tokenizer)).toBe(false);
    expect(after.metadata.get(META.tokenizerGz)!.length).toBeLessThan(before.metadata.get(META.tokenizer)!.length);
    expect(tokenizerJsonOf(after.metadata)).toBe(before.metadata.get(META.tokenizer));
    const inspect = JSON.parse(minnow('inspect', file).stdout);
    expect(inspect.metadata[META.tokenizerGz]).toMatchObject({ type: 'BPE', vocab_size: 300 });
    const ev = minnow('eval', file, '--data', 'spam', '--limit', '96');
    expect(ev.status, ev.stderr).toBe(0);
  });

  it('bad input: not a model', () => {
    const file = path.join(tmp(), 'x.onnx');
    writeFileSync(file, 'nope');
    const r = minnow('compress', file, '--quantize', 'int8', '--out', path.join(path.dirname(file), 'y.onnx'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^minnow: .*x\.onnx: not a valid ONNX model/);
    expect(() => compressModel(new Uint8Array([1, 2, 3]), { quantize: 'int4' })).toThrow(/not a valid ONNX model/);
  });
});

describe('minnow compress --structured, then --init-from', () => {
  it('shrinks a trained CNN, starts training from it exactly, and recovers', async () => {
    const out = tmp();
    await train({ task: 'image', data: 'fashion-mnist', model: 'cnn:channels=8-16,hidden=32', epochs: 1, batch: 32, lr: 3e-3, out, dataOptions: { limit: 640 } });
    const pruned = path.join(out, 'pruned.onnx');
    const r = minnow('compress', path.join(out, 'model.onnx'), '--structured', 'channels=6-8,hidden=12', '--prune', '0.3', '--out', pruned);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.structured).toMatchObject({ spec_before: 'cnn:channels=8-16,hidden=32', spec_after: 'cnn:channels=6-8,hidden=12' });
    expect(summary.structured.params_after / summary.structured.params_before).toBeLessThan(0.45);
    expect(summary.sparsity).toBeCloseTo(0.3, 2);
    const { graph } = decodeModel(readFileSync(pruned));
    expect(JSON.parse(graph.metadata.get(META.compression)!)).toMatchObject({ structured: { channels: [6, 8], hidden: [12] }, prune: { target: 0.3 } });
    expect(minnow('inspect', pruned).status).toBe(0);

    // Zero steps: the exported weights are the file's, bit for bit.
    const same = tmp();
    await train({ task: 'image', data: 'fashion-mnist', initFrom: pruned, maxSteps: 0, out: same, dataOptions: { limit: 640 } });
    const started = decodeModel(readFileSync(path.join(same, 'model.onnx'))).graph;
    for (const name of ['conv0.weight', 'conv1.weight', 'fc.weight', 'head.weight']) {
      expect([...started.initializers.get(name)!.data]).toEqual([...graph.initializers.get(name)!.data]);
    }
    expect(started.metadata.get(META.model)).toBe('cnn:channels=6-8,hidden=12');
    // Recovery from the command line (hard labels) and through distill (here its --no-teacher baseline).
    const before = JSON.parse(minnow('eval', pruned, '--data', 'fashion-mnist', '--limit', '640').stdout).accuracy;
    const dir = tmp();
    const rec = minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--init-from', pruned, '--epochs', '1', '--lr', '2e-3', '--limit', '640', '--out', dir);
    expect(rec.status, rec.stderr).toBe(0);
    const recovered = JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'));
    expect(recovered).toMatchObject({ model: 'cnn:channels=6-8,hidden=12', init_from: pruned, params: summary.structured.params_after });
    expect(recovered.metrics.accuracy).toBeGreaterThan(before - 0.02);
    const viaDistill = await distill({ task: 'image', noTeacher: true, data: 'fashion-mnist', initFrom: pruned, maxSteps: 2, out: tmp(), dataOptions: { limit: 640 } });
    expect(viaDistill).toMatchObject({ model: 'cnn:channels=6-8,hidden=12', init_from: pruned });
  });

  it('bad input: quantized init, a different --model, nothing to do', () => {
    const out = tmp();
    const g = buildModel({ kind: 'mlp', hidden: [16] }, { task: 'image', numClasses: 10, imageShape: [1, 28, 28] }, { seed: 1 }).graph;
    g.metadata.set(META.model, 'mlp:hidden=16');
    g.metadata.set(META.task, 'image');
    const file = path.join(out, 'm.onnx');
    writeFileSync(file, encodeModel(g));
    const q = path.join(out, 'q.onnx');
    expect(minnow('compress', file, '--quantize', 'int8', '--keep', 'none', '--out', q).status).toBe(0);
    const a = minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--init-from', q, '--limit', '64', '--out', tmp());
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/no float32 parameter 'fc0.weight' \(the file is quantized/);
    const b = minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--init-from', file, '--model', 'mlp:hidden=32', '--limit', '64', '--out', tmp());
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--model mlp:hidden=32 differs from the architecture of --init-from/);
    const c = minnow('compress', file, '--out', q);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/nothing to do/);
    const d = minnow('compress', file, '--structured', 'hidden=32', '--out', q);
    expect(d.status).toBe(2);
    expect(d.stderr).toMatch(/hidden\[0\]=32: the model has only 16/);
  });
});
