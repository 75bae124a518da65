// minnow/runtime on Node with onnxruntime-node and onnxruntime-web (wasm): same answers as the
// training side, integrity checks, clear errors, and the bundle size budget.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { train } from '../../src/train/job.js';
import { readOnnxFile as readTrainedModel } from '../../src/onnx/model-file.js';
import { tokenizerFromJSON } from '../../src/data/tokenizers/index.js';
import { loadDataset } from '../../src/data/datasets.js';
import { META } from '../../src/format/metadata.js';
import { buildModel } from '../../src/nn/models.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { loadModel } from '../../runtime/index.js';

ortWeb.env.wasm.numThreads = 1;
let modelFile: string;
let texts: string[];

beforeAll(async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'minnow-runtime-'));
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', epochs: 1, batch: 16, lr: 3e-3, vocabSize: 400, out, dataOptions: { limit: 128 } });
  modelFile = path.join(out, 'model.onnx');
  const data = loadDataset('spam', 'classify', { limit: 8 });
  texts = data.task === 'classify' ? data.splits.test.map((e) => e.text.slice(0, 120)) : [];
  texts.push('naïve café — 東京 😀 FREE money!!!');
});

/** The training side's answer: its tokenizer, its session, softmax. */
async function reference(text: string): Promise<number[]> {
  const { graph, bytes } = readTrainedModel(modelFile);
  const tok = tokenizerFromJSON(graph.metadata.get(META.tokenizer)!);
  const ids = tok.encode(text).slice(0, 64);
  const out = await run(await createSession(bytes), {
    input_ids: Tensor.fromNumbers('int64', [1, ids.length], ids), attention_mask: Tensor.fromNumbers('int64', [1, ids.length], ids.map(() => 1)),
  });
  const logits = out.logits!.toNumbers();
  const max = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('loadModel + classify', () => {
  for (const [name, ort] of [['onnxruntime-node', ortNode], ['onnxruntime-web (wasm)', ortWeb]] as const) {
    it(`${name}: same labels and scores as the training side`, async () => {
      const model = await loadModel(name.startsWith('onnxruntime-web') ? new Uint8Array(readFileSync(modelFile)) : modelFile, { ort: ort as never, truncation: 'right' });
      expect(model.info.task).toBe('classify');
      expect(model.info.labels).toEqual(['ham', 'spam']);
      expect(model.info.sha256).toMatch(/^[0-9a-f]{64}$/);
      const batch = await model.classify(texts);
      for (const [i, text] of texts.entries()) {
        const expected = await reference(text);
        const single = await model.classify(text);
        expect(single[0]!.score).toBeGreaterThanOrEqual(single[1]!.score);
        for (const p of [single, batch[i]!]) {
          for (const { label, score } of p) expect(Math.abs(score - expected[label === 'ham' ? 0 : 1]!)).toBeLessThan(1e-4);
        }
      }
      await model.dispose();
      await expect(model.classify('x')).rejects.toThrow(/disposed/);
    });
  }
});

describe('bad files and bad input', () => {
  const bytes = () => new Uint8Array(readFileSync(modelFile));
  it('a truncated file', async () => {
    await expect(loadModel(bytes().subarray(0, 5000), { ort: ortNode as never })).rejects.toThrow(/truncated or corrupt|do not match/);
  });
  it('a file with one flipped byte in its weights', async () => {
    const b = bytes();
    const at = Math.floor(b.length * 0.6);
    b[at] = b[at]! ^ 0x10;
    await expect(loadModel(b, { ort: ortNode as never })).rejects.toThrow(/weights do not match their sha256/);
  });
  it('a file that is not ONNX', async () => {
    await expect(loadModel(new TextEncoder().encode('{"hello": "world"}'), { ort: ortNode as never })).rejects.toThrow(/not (a valid ONNX file|an ONNX model)/);
  });
  it('a model without metadata: raw tensors work, classify explains', async () => {
    const m = buildModel({ kind: 'mlp', hidden: [8] }, { task: 'image', numClasses: 3, imageShape: [1, 2, 2] }, { seed: 1 });
    const model = await loadModel(encodeModel(m.graph), { ort: ortNode as never });
    const out = await model.run({ pixels: new ortNode.Tensor('float32', new Float32Array(4), [1, 1, 2, 2]) as never });
    expect((out.logits!.data as Float32Array).length).toBe(3);
    await expect(model.classify('hi')).rejects.toThrow(/no labels or preprocessing metadata: use model.run/);
  });
  it('empty text, wrong types, and text past the context', async () => {
    const model = await loadModel(modelFile, { ort: ortNode as never });
    await expect(model.classify('')).rejects.toThrow(/empty/);
    await expect(model.classify([])).rejects.toThrow(/empty array/);
    await expect(model.classify({} as never)).rejects.toThrow(/takes a string/);
    await expect(model.classify('spam '.repeat(200))).rejects.toThrow(/more than the model's 64 tokens; load with \{ truncation: 'right' \}/);
  });
  it('a wrong expectedSha256', async () => {
    await expect(loadModel(modelFile, { ort: ortNode as never, expectedSha256: '0'.repeat(64) })).rejects.toThrow(/do not match/);
  });
  it('a missing ort module', async () => {
    await expect(loadModel(modelFile, {} as never)).rejects.toThrow(/needs \{ ort \}/);
  });
});

describe('bundle size', () => {
  it('minified + gzip, without onnxruntime, is at most 25 KB, and fine-tuning adds at most 10 KB, loaded only when called', async () => {
    const result = await build({
      entryPoints: { runtime: path.resolve(__dirname, '../../runtime/index.ts') }, bundle: true, minify: true, format: 'esm', platform: 'neutral',
      splitting: true, outdir: path.join(tmpdir(), 'minnow-runtime-bundle'), write: false, external: ['node:fs/promises', 'node:path', 'onnxruntime-*'],
    });
    const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), f.contents]));
    const text = (name: string) => new TextDecoder().decode(files.get(name)!);
    // What loading the runtime fetches: the entry and the chunks it imports statically.
    const eager = ['runtime.js', ...[...text('runtime.js').matchAll(/from"\.\/([\w-]+\.js)"/g)].map((m) => m[1]!)];
    const lazy = [...files.keys()].filter((f) => f.endsWith('.js') && !eager.includes(f));
    const gz = (names: string[]) => names.reduce((n, f) => n + gzipSync(files.get(f)!).length, 0);
    const code = eager.map(text).join('\n');
    // Nothing of the trainer, autodiff or the protobuf writer may come along.
    expect(code).not.toMatch(/protobufjs|SoftmaxCrossEntropyLoss|no gradient rule/);
    expect(code).not.toMatch(/has no training step/);
    expect(lazy.map(text).join('\n')).toMatch(/has no training step/);
    expect(gz(eager)).toBeLessThanOrEqual(25 * 1024);
    expect(gz(lazy)).toBeLessThanOrEqual(10 * 1024);
    writeFileSync(path.join(tmpdir(), 'minnow-runtime-size.txt'), `${eager.reduce((n, f) => n + files.get(f)!.length, 0)} ${gz(eager)} ${gz(lazy)}\n`);
  });
});

describe('examples/node-iot', () => {
  it('classifies stdin lines', async () => {
    const { spawnSync } = await import('node:child_process');
    const root = path.resolve(__dirname, '../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'examples/node-iot/classify-stdin.ts'), modelFile], {
      cwd: root, encoding: 'utf8', input: 'Win a FREE prize now, click here\n\nMeeting moved to 3pm, see notes\n', timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(['ham', 'spam']).toContain(l.label);
      expect(l.score).toBeGreaterThanOrEqual(0.5);
    }
  });
});

describe('embed and the Node download cache', () => {
  it('returns one feature vector per text, equal for equal texts', async () => {
    const model = await loadModel(modelFile, { ort: ortNode as never, truncation: 'right' });
    const [a, b, c] = await model.embed(['hello there', 'hello there', 'win money now']);
    expect(a!.length).toBe(32);
    expect(Array.from(a!)).toEqual(Array.from(b!));
    expect(Array.from(a!)).not.toEqual(Array.from(c!));
    await expect(model.embed([])).rejects.toThrow(/empty array/);
  });

  it('downloads over HTTP once and then reads the cache directory', async () => {
    const http = await import('node:http');
    let hits = 0;
    const body = readFileSync(modelFile);
    const server = http.createServer((_, res) => { hits++; res.writeHead(200, { 'content-length': body.length }); res.end(body); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/model.onnx`;
    const cache = mkdtempSync(path.join(tmpdir(), 'minnow-dl-'));
    const progress: number[] = [];
    const first = await loadModel(url, { ort: ortNode as never, cache, onProgress: ({ loaded }) => progress.push(loaded) });
    const second = await loadModel(url, { ort: ortNode as never, cache });
    server.close();
    expect(hits).toBe(1);
    expect(progress.at(-1)).toBe(body.length);
    expect(second.info.sha256).toBe(first.info.sha256);
  });
});
