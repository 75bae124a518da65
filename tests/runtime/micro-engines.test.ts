// minnow/micro where there is no WebAssembly to lean on: in Hermes (React Native's engine, npm's
// hermes-engine-cli 0.12, the bundle lowered by React Native's Babel preset) and QuickJS
// (quickjs-emscripten: QuickJS compiled to wasm, but the code it runs sees only QuickJS: no
// TextEncoder, no WebCrypto, no wasm), with the UTF-8 codecs and SHA-256 that micro brings for them.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { loadDataset } from '../../src/data/datasets.js';
import { microFixtures, type Fixture } from './micro-fixtures.js';
import { bundleApp, runInHermes, runInQuickJS } from '../../examples/hermes/engines.js';
import { sha256Bytes } from '../../src/format/sha256-js.js';
import { Utf8Decoder, Utf8Encoder } from '../../runtime/micro/text-codecs.js';
import { loadModel } from '../../runtime/index.js';

const root = path.resolve(__dirname, '../..');

describe('what micro brings for bare engines', () => {
  it('SHA-256 in JavaScript equals Node\'s, at every length around the block boundaries', () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 100_003]) {
      const data = randomBytes(n);
      expect(Buffer.from(sha256Bytes(data)).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    }
  });

  it('UTF-8 encodes and decodes as the platform\'s TextEncoder and TextDecoder do', () => {
    const text = 'naïve café — 東京 😀 👩‍👩‍👧 \u0000 end';
    expect(new Utf8Encoder().encode(text)).toEqual(new TextEncoder().encode(text));
    expect(new Utf8Decoder().decode(new TextEncoder().encode(text))).toBe(text);
    const bad = Uint8Array.of(0x61, 0xff, 0x62);
    // Invalid and truncated sequences: one U+FFFD per maximal invalid subpart, as WHATWG says.
    const cases = [[0x61, 0xff, 0x62], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xef, 0xbb, 0xbf, 0x41], [0xe2, 0x82, 0x41]];
    for (const bytes of cases) expect(new Utf8Decoder().decode(Uint8Array.from(bytes))).toBe(new TextDecoder().decode(Uint8Array.from(bytes)));
    expect(new Utf8Encoder().encode('a\ud800b')).toEqual(new TextEncoder().encode('a\ud800b'));
    expect(() => new Utf8Decoder('utf-8', { fatal: true }).decode(bad)).toThrow(TypeError);
  });
});

type Prediction = { label: string; score: number };
type SuiteResult = Record<string, { sha256: string; predictions?: Prediction[] | Prediction[][]; text?: string }> & { engine: { wasm: string; crypto: string }; error?: string };

const TOLERANCE: Record<string, number> = { spam: 1e-4, mnist: 1e-4 };

describe('minnow/micro in the engines with no WebAssembly: Hermes (lowered as React Native does) and QuickJS', () => {
  let files: Record<Fixture, string>;
  const spam = loadDataset('spam', 'classify', { limit: 16 });
  const texts = [...(spam.task === 'classify' ? spam.splits.test.slice(0, 3).map((e) => e.text.slice(0, 300)) : []), 'Minutes of the budget meeting are attached — 東京 😀'];
  const mnistData = loadDataset('fashion-mnist', 'image', { limit: 8 });
  const images = mnistData.task === 'image' ? mnistData.splits.test.slice(0, 2).map((e) => Array.from(e.pixels)) : [];
  const inputs = { texts, images, prompt: 'Call me Ishmael. Some years ago', maxTokens: 16 };
  let script: Record<'hermes' | 'quickjs', string>;

  beforeAll(async () => {
    files = await microFixtures();
    const modules: Record<string, Uint8Array | string> = { inputs: JSON.stringify(inputs) };
    for (const [name, file] of Object.entries(files)) modules[`model:${name}`] = readFileSync(file);
    const entry = path.join(root, 'tests/runtime/engines/suite.ts');
    script = { hermes: await bundleApp(entry, modules, 'hermes'), quickjs: await bundleApp(entry, modules, 'quickjs') };
  }, 300_000);

  for (const engine of ['hermes', 'quickjs'] as const) {
    it(`${engine}: every student's outputs match onnxruntime-node's (1e-4 fp32, 1e-3 quantized), and the same greedy text`, async () => {
      const printed = engine === 'hermes' ? await runInHermes(script.hermes) : await runInQuickJS(script.quickjs);
      const got = JSON.parse(printed.trim().split('\n').pop()!) as SuiteResult;
      expect(got.error).toBeUndefined();
      expect(got.engine).toEqual({ wasm: 'undefined', crypto: 'undefined' });
      for (const name of ['spam', 'spam int8', 'spam int4', 'spam int4, zero points, odd blocks', 'mnist', 'mnist int8'] as const) {
        const ref = await loadModel(files[name], { ort: ortNode as never, truncation: 'right' });
        expect(got[name]!.sha256).toBe(ref.info.sha256);
        const want = name.startsWith('spam') ? await ref.classify(texts) : await Promise.all(images.map((p) => ref.classify(p)));
        const tolerance = TOLERANCE[name] ?? 1e-3;
        (got[name]!.predictions as Prediction[][]).forEach((preds, i) => {
          expect(preds.map((p) => p.label)).toEqual(want[i]!.map((p) => p.label));
          preds.forEach((p, j) => expect(Math.abs(p.score - want[i]![j]!.score)).toBeLessThan(tolerance));
        });
      }
      const lm = await loadModel(files['moby decoder'], { ort: ortNode as never });
      let text = '';
      for await (const piece of lm.generate(inputs.prompt, { maxTokens: inputs.maxTokens })) text += piece;
      expect(got['moby decoder']!.text).toBe(text);
      expect(text.length).toBeGreaterThan(0);
    }, 300_000);
  }
});
