import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { decodeModel, encodeModel } from '../../src/onnx/codec.js';
import { buildModel } from '../../src/nn/models.js';
import { weightsDigest, META } from '../../src/train/metadata.js';
import { compressModel, COMPRESSION_META } from '../../src/compress/compress.js';

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
      expect(JSON.parse(graph.metadata.get(COMPRESSION_META)!)).toMatchObject({ quantize: kind, keep: 'last' });
      expect(graph.metadata.get(META.weightsSha256)).toBe(weightsDigest(graph));
      const inspect = minnow('inspect', file);
      expect(inspect.status, inspect.stderr).toBe(0);
      expect(JSON.parse(inspect.stdout).ops).toHaveProperty(kind === 'int8' ? 'MatMulInteger' : 'com.microsoft.MatMulNBits');
      const ev = minnow('eval', file, '--data', 'fashion-mnist', '--limit', '640');
      expect(ev.status, ev.stderr).toBe(0);
      // Quantization noise moves accuracy a little, not a lot.
      expect(Math.abs(JSON.parse(ev.stdout).accuracy - (report.metrics as { accuracy: number }).accuracy)).toBeLessThan(0.05);
    }
  });

  it('passes unknown ops through with a warning, and compresses a model without minnow metadata', () => {
    const model = buildModel({ kind: 'mlp', hidden: [64] }, { task: 'image', numClasses: 4, imageShape: [1, 8, 8] }, { seed: 1 });
    const g = model.graph;
    // An op the quantizer does not know, between the layers.
    const relu = g.nodes.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Softplus';
    const file = path.join(tmp(), 'plain.onnx');
    writeFileSync(file, encodeModel(g));
    const r = minnow('compress', file, '--quantize', 'int8', '--keep', 'none', '--out', path.join(path.dirname(file), 'q.onnx'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: ops the quantizer does not know were passed through unchanged: Softplus/);
    expect(JSON.parse(r.stdout).quantized).toEqual(['fc0.weight', 'head.weight']);
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
