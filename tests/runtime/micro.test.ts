// minnow/micro against onnxruntime-node on the graphs minnow trains and compresses: the same
// outputs (1e-4 for fp32, 1e-3 quantized), the same greedy generations, and a clear refusal of
// any other op.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ortNode from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { microFixtures, type Fixture } from './micro-fixtures.js';
import { loadDataset } from '../../src/data/datasets.js';
import { Graph } from '../../src/onnx/graph.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { loadModel as loadWithOrt, type OrtLike } from '../../runtime/index.js';
import { loadModel as loadMicro, MicroSession, MicroTensor } from '../../runtime/micro/index.js';
import { Tensor } from '../../src/onnx/tensor.js';
import { readGraph } from '../../runtime/micro/graph.js';

const ort = ortNode as unknown as OrtLike;
let files: Record<Fixture, string>;

beforeAll(async () => { files = await microFixtures(); }, 300_000);

/** The largest score difference between two predictions of the same labels (which it checks). */
function maxDiff(a: { score: number; label: string }[], b: { score: number; label: string }[]): number {
  expect(a.map((p) => p.label).sort()).toEqual(b.map((p) => p.label).sort());
  expect(a.length).toBeGreaterThan(0);
  const byLabel = new Map(b.map((p) => [p.label, p.score]));
  return Math.max(...a.map((p) => Math.abs(p.score - byLabel.get(p.label)!)));
}

describe('minnow/micro', () => {
  const spam = loadDataset('spam', 'classify', { limit: 16 });
  const texts = spam.task === 'classify' ? spam.splits.test.slice(0, 8).map((e) => e.text.slice(0, 400)) : [];
  for (const [name, tol] of [['spam', 1e-4], ['spam int8', 1e-3], ['spam int4', 1e-3], ['spam int4, zero points, odd blocks', 1e-3]] as const) {
    it(`${name}: the classifier's scores match onnxruntime-node's within ${tol}`, async () => {
      const [ref, micro] = [await loadWithOrt(files[name], { ort, truncation: 'right' }), await loadMicro(files[name], { truncation: 'right' })];
      for (const text of texts) expect(maxDiff(await micro.classify(text), await ref.classify(text))).toBeLessThan(tol);
    });
  }

  const mnist = loadDataset('fashion-mnist', 'image', { limit: 8 });
  for (const [name, tol] of [['mnist', 1e-4], ['mnist int8', 1e-3], ['mnist int4', 1e-3]] as const) {
    it(`${name}: the image classifier's scores match within ${tol}`, async () => {
      const [ref, micro] = [await loadWithOrt(files[name], { ort }), await loadMicro(files[name])];
      for (const e of mnist.task === 'image' ? mnist.splits.test.slice(0, 4) : []) {
        expect(maxDiff(await micro.classify(e.pixels), await ref.classify(e.pixels))).toBeLessThan(tol);
      }
    });
  }

  for (const name of ['moby decoder', 'moby decoder int8', 'moby decoder int4'] as const) {
    it(`${name}: greedy generation with the KV cache (two layers) gives the same text as onnxruntime-node`, async () => {
      const collect = async (pieces: AsyncGenerator<string>) => { let text = ''; for await (const p of pieces) text += p; return text; };
      const [ref, micro] = [await loadWithOrt(files[name], { ort }), await loadMicro(files[name])];
      expect(micro.hasKvCache).toBe(true);
      const prompt = 'Call me Ishmael. Some years ago';
      const [a, b] = [await collect(ref.generate(prompt, { maxTokens: 24 })), await collect(micro.generate(prompt, { maxTokens: 24 }))];
      expect(b).toBe(a);
      expect(new Set(a).size).toBeGreaterThan(2);
    });
  }

  it('reports its memory: the weights it holds, and the peak of a run', async () => {
    const micro = await loadMicro(files.spam, { truncation: 'right' });
    // The file's initializers and Constant nodes (this graph folds nothing bigger).
    const graph = readGraph(readFileSync(files.spam));
    const constants = graph.nodes.flatMap((n) => (n.attrs.value instanceof MicroTensor ? [n.attrs.value] : []));
    expect(micro.info.memory!.weights).toBe([...graph.initializers.values(), ...constants].reduce((n, t) => n + t.data.byteLength, 0));
    await micro.classify(texts[0]!);
    // ctx 64, dim 32, 2 heads: the scores alone are 2 x 64 x 64 floats; everything far below a megabyte.
    expect(micro.info.memory!.peakActivations).toBeGreaterThan(2 * 64 * 64 * 4);
    expect(micro.info.memory!.peakActivations).toBeLessThan(1 << 20);
    expect((await loadWithOrt(files.spam, { ort })).info.memory).toBeUndefined();
  });

  it('holds no more memory after 300 runs than after 10, and lets a decoder\'s old cache sizes go', async () => {
    const micro = await loadMicro(files['spam int8'], { truncation: 'right' });
    // Mails of different lengths: each run makes arrays of its own sizes, and the pool lets go of the others.
    const mails = texts.map((t, i) => t.slice(0, 20 + 45 * i));
    for (let i = 0; i < 10; i++) await micro.classify(mails[i % mails.length]!);
    const early = micro.info.memory!.peakActivations;
    for (let i = 0; i < 290; i++) await micro.classify(mails[i % mails.length]!);
    expect(micro.info.memory!.peakActivations).toBe(early);
    // Every generated token makes new sizes (the cache grows); only the last run's are kept.
    const lm = await loadMicro(files['moby decoder']);
    const peaks: number[] = [];
    for (const maxTokens of [8, 56]) {
      for await (const _ of lm.generate('Call me Ishmael.', { maxTokens })) peaks.push(lm.info.memory!.peakActivations);
    }
    const growth = peaks[peaks.length - 1]! - peaks[7]!;
    // 48 more tokens of a 1-layer dim-32 cache: a few KB of cache, far from 48 kept copies of it.
    expect(growth).toBeLessThan(64 * 1024);
  });

  it('folds at load what depends on weights only: a weight-only int8 matrix becomes float32, its int8 copy and scale dropped', async () => {
    const g = new Graph('fold');
    const x = g.input('x', 'float32', [2, 3]);
    const w = g.op1('Mul', [g.op1('Cast', [g.constant(new Tensor('int8', [3, 4], Int8Array.of(1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12)))], { to: 1 }), g.constant(new Tensor('float32', [4], Float32Array.of(0.5, 1, 2, 4)))]);
    g.output(g.op1('MatMul', [x, w]));
    const session = await MicroSession.create(encodeModel(g));
    expect(session.memory.weights).toBe(3 * 4 * 4);
    const out = await session.run({ x: new MicroTensor('float32', Float32Array.of(1, 0, 0, 0, 1, 1), [2, 3]) });
    expect(Array.from(out[g.outputs[0]!]!.data as Float32Array)).toEqual([0.5, -2, 6, -16, 7, -16, 36, -80]);
  });

  it('keeps an integer Relu integer (opset 14)', async () => {
    const g = new Graph('relu');
    g.output(g.op1('Relu', [g.input('x', 'int32', [4])]));
    const out = Object.values(await (await MicroSession.create(encodeModel(g))).run({ x: new MicroTensor('int32', Int32Array.of(-2, 3, 0, -7), [4]) }))[0]!;
    expect(out.type).toBe('int32');
    expect(Array.from(out.data as Int32Array)).toEqual([0, 3, 0, 0]);
  });

  it('is at most 30 KB minified and gzipped, with no onnxruntime and no Node built-in but the lazy file read', async () => {
    const result = await build({
      entryPoints: { micro: path.resolve(__dirname, '../../runtime/micro/index.ts') }, bundle: true, minify: true, format: 'esm', platform: 'neutral',
      splitting: true, outdir: path.join(tmpdir(), 'minnow-micro-bundle'), write: false, external: ['node:fs/promises', 'node:path'],
    });
    const files = new Map(result.outputFiles.map((f) => [path.basename(f.path), f.contents]));
    // What loading micro fetches: the entry and the chunks it imports statically (fine-tuning is lazy).
    const entry = new TextDecoder().decode(files.get('micro.js')!);
    const eager = ['micro.js', ...[...entry.matchAll(/from"\.\/([\w-]+\.js)"/g)].map((m) => m[1]!)];
    const code = eager.map((f) => new TextDecoder().decode(files.get(f)!)).join('\n');
    // (The word onnxruntime stays in the runtime's error messages; no module of it is imported.)
    expect(code).not.toMatch(/from ?"onnxruntime|import\("onnxruntime|\.wasm\b|protobufjs/);
    expect([...code.matchAll(/from ?"(node:[^"]+)"|import\("(node:[^"]+)"\)/g)].map((m) => m[1] ?? m[2]).every((m) => m === 'node:fs/promises' || m === 'node:path')).toBe(true);
    expect(eager.reduce((n, f) => n + gzipSync(files.get(f)!).length, 0)).toBeLessThanOrEqual(30 * 1024);
  });

  it('refuses at load what it would compute wrongly: MaxPool with ceil_mode', async () => {
    const g = new Graph('pool');
    const x = g.input('x', 'float32', [1, 1, 5, 5]);
    g.output(g.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, { outputs: 1, name: 'p' })[0]!);
    await expect(MicroSession.create(encodeModel(g))).rejects.toThrow(/op MaxPool \(node 'n_p'\) has ceil_mode 1, which minnow\/micro does not compute/);
  });

  it('refuses MatMulNBits with float zero points at load', async () => {
    const g = new Graph('nbits');
    const x = g.input('x', 'float32', [1, 16]);
    const b = g.constant(new Tensor('uint8', [2, 1, 8], new Uint8Array(16))), scales = g.constant(new Tensor('float32', [2], Float32Array.of(1, 1)));
    const zp = g.initializer('zp', new Tensor('float32', [2], Float32Array.of(8, 8)));
    g.output(g.op('MatMulNBits', [x, b, scales, zp], { K: 16, N: 2, bits: 4, block_size: 16 }, { domain: 'com.microsoft', outputs: 1, lenient: true, name: 'q' })[0]!);
    await expect(MicroSession.create(encodeModel(g))).rejects.toThrow(/MatMulNBits \(node 'n_q'\) has float zero points/);
  });

  it('refuses an op outside its set at load, naming the op and the node', async () => {
    const g = new Graph('odd');
    const x = g.input('x', 'float32', [1, 4]);
    g.output(g.op1('Tanh', [x], {}, { name: 'the_odd_one' }));
    await expect(MicroSession.create(encodeModel(g))).rejects.toThrow(/op Tanh \(node 'n_the_odd_one'\) is not supported by minnow\/micro; run this model with minnow\/runtime and ONNX Runtime/);
  });
});
