// Every CLI command run as a user runs it (a child process), plus the bad inputs that must give a
// one-line error and exit code 2.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { buildModel } from '../../src/nn/models.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { stampWeightsDigest } from '../../src/onnx/digest.js';
import { META } from '../../src/format/metadata.js';

const root = path.resolve(__dirname, '../..');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-cli-'));

function minnow(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectUserError(r: ReturnType<typeof minnow>, pattern: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
}

describe('minnow train / eval / inspect', () => {
  it('trains, evaluates and inspects a model', () => {
    const out = tmp();
    const t = minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'mlp:hidden=16', '--epochs', '1', '--batch', '32', '--lr', '0.003', '--limit', '320', '--out', out);
    expect(t.code, t.stderr).toBe(0);
    const report = JSON.parse(t.stdout);
    expect(report.steps).toBe(10);
    expect(report.metrics.accuracy).toBeGreaterThan(0.3);
    expect(t.stderr).toMatch(/training 12,730 parameters on 320 examples, 10 steps/);
    const model = path.join(out, 'model.onnx');
    const e = minnow('eval', model, '--data', 'fashion-mnist', '--limit', '320');
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).accuracy).toBeCloseTo(report.metrics.accuracy, 6);
    const i = minnow('inspect', model);
    expect(i.code, i.stderr).toBe(0);
    const summary = JSON.parse(i.stdout);
    expect(summary.params).toBe(12730);
    expect(summary.size_bytes).toBe(readFileSync(model).length);
    expect(summary.ops).toMatchObject({ MatMul: 2, Relu: 1 });
    expect(summary.metadata['minnow.task']).toBe('image');
  });

  it('train --recompute reaches the validation loss of the run without it', () => {
    const run = (...extra: string[]) => {
      const r = minnow('train', '--task', 'lm', '--data', 'moby-dick', '--model', 'transformer:layers=2,dim=16,heads=2,ff=32,ctx=16', '--limit', '4000',
        '--max-steps', '4', '--batch', '8', '--optimizer', 'sgd', '--lr', '0.1', '--out', tmp(), ...extra);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { metrics: { val_loss: number } };
    };
    const [plain, recomputed] = [run(), run('--recompute')];
    expect(Math.abs(recomputed.metrics.val_loss - plain.metrics.val_loss) / plain.metrics.val_loss).toBeLessThan(1e-5);
    // A model with no Transformer blocks: one line, exit 2.
    expectUserError(minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'mlp:hidden=8', '--limit', '64', '--recompute', '--out', tmp()), /--recompute recomputes Transformer blocks, and this model has none/);
  });

  it('tokenizer train writes a Hugging Face tokenizer.json', () => {
    const out = path.join(tmp(), 'tokenizer.json');
    const r = minnow('tokenizer', 'train', '--data', 'moby-dick', '--vocab-size', '300', '--limit', '20000', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'bpe', vocab_size: 300 });
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.model.type).toBe('BPE');
    expect(doc.model.merges).toHaveLength(300 - 258);
  });
});

describe('bad input: one line, exit code 2', () => {
  it('a missing data path', () => {
    expectUserError(minnow('train', '--task', 'classify', '--data', '/no/such.jsonl', '--out', tmp()), /^minnow: data '\/no\/such.jsonl' not found/);
  });
  it('a malformed JSONL line, with its line number', () => {
    const file = path.join(tmp(), 'd.jsonl');
    writeFileSync(file, '{"text":"ok","label":"a"}\n{"text":"ok","label":"b"}\n{"text": broken\n');
    expectUserError(minnow('train', '--task', 'classify', '--data', file, '--out', tmp()), /d\.jsonl:3: not valid JSON/);
  });
  it('an unknown model spec key', () => {
    expectUserError(minnow('train', '--task', 'classify', '--data', 'spam', '--model', 'transformer:layers=2,width=64', '--out', tmp()), /unknown key 'width' for transformer \(keys: layers, dim/);
  });
  it('an unknown device', () => {
    expectUserError(minnow('train', '--task', 'classify', '--data', 'spam', '--device', 'tpu', '--out', tmp()), /unknown device 'tpu': use one of cpu, cuda, webgpu/);
  });
  it('a device whose provider is missing', () => {
    expectUserError(minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'mlp:hidden=8', '--limit', '64', '--device', 'cuda', '--out', tmp()), /device 'cuda' is not available: .*cuda12/);
  });
  it('a model file that is not ONNX', () => {
    const file = path.join(tmp(), 'x.onnx');
    writeFileSync(file, 'not a model');
    expectUserError(minnow('inspect', file), /x\.onnx: not a valid ONNX model/);
  });
  it('--out naming a file, before any tokenizer is trained', () => {
    const file = path.join(tmp(), 'out.txt');
    writeFileSync(file, '');
    const r = minnow('train', '--task', 'classify', '--data', 'spam', '--out', file);
    expectUserError(r, /^minnow: --out .*out\.txt is a file \(or lies under one\); give a directory\n/);
    expect(r.stderr).not.toMatch(/training a byte-level BPE/);
  });
  it('teacher serve on a port in use, and on a public address without tokens', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address() as net.AddressInfo;
    const model = path.join(root, 'tests/fixtures/foreign/bert.onnx');
    expectUserError(minnow('teacher', 'serve', model, '--port', String(port)), new RegExp(`^minnow: 127.0.0.1:${port} is already in use; stop what listens there or pick another --port\\n`));
    busy.close();
    expectUserError(minnow('teacher', 'serve', model, '--host', '0.0.0.0', '--port', '0'), /^minnow: refusing to listen on 0\.0\.0\.0 without --token-file/);
  });
  it('resuming from a directory without a checkpoint', () => {
    expectUserError(minnow('train', '--task', 'lm', '--data', 'moby-dick', '--resume', '/nonexistent', '--out', tmp()), /no checkpoint at/);
  });
});

describe('model files whose weights do not match their sha256', () => {
  // A model stamped with its digest, then 64 of its weights changed: what flipped bytes on disk give.
  const file = path.join(tmp(), 'tampered.onnx');
  const model = buildModel({ kind: 'mlp', hidden: [16] }, { task: 'image', numClasses: 10, imageShape: [1, 28, 28] }, { seed: 1 });
  model.graph.metadata.set(META.task, 'image');
  stampWeightsDigest(model.graph);
  const weights = [...model.graph.initializers.values()][0]!.data as Float32Array;
  for (let i = 0; i < 64; i++) weights[i] = -weights[i]! - 1;
  writeFileSync(file, encodeModel(model.graph));
  const refused = /tampered\.onnx: the model's weights do not match their sha256 \(expected [0-9a-f]{12}…, got [0-9a-f]{12}…\): the file is corrupt or was changed; pass --no-verify to load it anyway/;

  it('inspect, eval, compress, teacher serve and --init-from refuse them in one line', () => {
    expectUserError(minnow('inspect', file), refused);
    expectUserError(minnow('eval', file, '--data', 'fashion-mnist', '--limit', '64'), refused);
    expectUserError(minnow('compress', file, '--quantize', 'int8', '--out', path.join(tmp(), 'q.onnx')), refused);
    expectUserError(minnow('teacher', 'serve', file, '--port', '0'), refused);
    expectUserError(minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--init-from', file, '--limit', '64', '--out', tmp()), refused);
  });

  it('--no-verify loads them anyway', () => {
    const r = minnow('inspect', file, '--no-verify');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).metadata[META.weightsSha256]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('webgpu without a GPU', () => {
  it('fails with one sentence from minnow, not a stack trace', () => {
    const r = minnow('train', '--task', 'image', '--data', 'fashion-mnist', '--model', 'mlp:hidden=8', '--limit', '64', '--device', 'webgpu', '--out', tmp());
    expect(r.code).toBe(2);
    const ours = r.stderr.trim().split('\n').filter((l) => l.startsWith('minnow:'));
    expect(ours).toHaveLength(1);
    expect(ours[0]).toMatch(/device 'webgpu' is not available: .*use --device cpu/);
    // Dawn (native) may print its own warning about Vulkan; no JavaScript stack frames appear.
    expect(r.stderr).not.toMatch(/\.(ts|js):\d+:\d+\)/);
  });
});
