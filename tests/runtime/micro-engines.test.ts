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
import { bundleApp, runApp, type Engine } from '../../examples/hermes/engines.js';
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
type SuiteResult = Record<string, { sha256: string; predictions?: Prediction[][]; text?: string }> & { engine: { wasm: string; crypto: string }; error?: string };

const CLASSIFIERS = ['spam', 'spam int8', 'spam int4', 'spam int4, zero points, odd blocks', 'mnist', 'mnist int8', 'mnist int4'] as const;
const DECODERS = ['moby decoder', 'moby decoder int8', 'moby decoder int4'] as const;

/** Each input's predictions: the same labels, and every score within `tolerance` of the same label's. */
function expectClose(got: Prediction[][] | undefined, want: Prediction[][], tolerance: number): void {
  expect(got).toHaveLength(want.length);
  got!.forEach((preds, i) => {
    expect(preds.map((p) => p.label).sort()).toEqual(want[i]!.map((p) => p.label).sort());
    const score = new Map(want[i]!.map((p) => [p.label, p.score]));
    for (const p of preds) expect(Math.abs(p.score - score.get(p.label)!)).toBeLessThan(tolerance);
  });
}

describe('minnow/micro in Hermes (lowered as React Native does), QuickJS and Chromium', () => {
  let files: Record<Fixture, string>;
  const spam = loadDataset('spam', 'classify', { limit: 16 });
  const texts = [...(spam.task === 'classify' ? spam.splits.test.slice(0, 3).map((e) => e.text.slice(0, 300)) : []), 'Minutes of the budget meeting are attached — 東京 😀'];
  const mnistData = loadDataset('fashion-mnist', 'image', { limit: 8 });
  const images = mnistData.task === 'image' ? mnistData.splits.test.slice(0, 2).map((e) => Array.from(e.pixels)) : [];
  const inputs = { texts, images, prompt: 'Call me Ishmael. Some years ago', maxTokens: 16 };
  const want: Record<string, { sha256: string; predictions?: Prediction[][]; text?: string }> = {};
  const scripts: Partial<Record<Engine, string>> = {};

  beforeAll(async () => {
    files = await microFixtures();
    const modules: Record<string, Uint8Array | string> = { inputs: JSON.stringify(inputs) };
    for (const [name, file] of Object.entries(files)) modules[`model:${name}`] = readFileSync(file);
    const entry = path.join(root, 'tests/runtime/engines/suite.ts');
    for (const engine of ['hermes', 'quickjs', 'chromium'] as const) scripts[engine] = await bundleApp(entry, modules, engine);
    // onnxruntime-node's answers, once.
    for (const name of CLASSIFIERS) {
      const ref = await loadModel(files[name], { ort: ortNode as never, truncation: 'right' });
      const predictions = name.startsWith('spam') ? await ref.classify(texts) : await Promise.all(images.map((p) => ref.classify(p)));
      want[name] = { sha256: ref.info.sha256!, predictions };
    }
    for (const name of DECODERS) {
      const lm = await loadModel(files[name], { ort: ortNode as never });
      let text = '';
      for await (const piece of lm.generate(inputs.prompt, { maxTokens: inputs.maxTokens })) text += piece;
      want[name] = { sha256: lm.info.sha256!, text };
    }
  }, 300_000);

  for (const engine of ['hermes', 'quickjs', 'chromium'] as const) {
    it(`${engine}: every student's outputs match onnxruntime-node's (1e-4 fp32, 1e-3 quantized), and the same greedy text`, async () => {
      const got = JSON.parse((await runApp(engine, scripts[engine]!)).trim().split('\n').pop()!) as SuiteResult;
      expect(got.error).toBeUndefined();
      // Chromium has WebAssembly and WebCrypto (micro leaves them alone; the page fetches nothing): the bare engines have neither.
      if (engine !== 'chromium') expect(got.engine).toEqual({ wasm: 'undefined', crypto: 'undefined' });
      for (const name of CLASSIFIERS) {
        expect(got[name]!.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(got[name]!.sha256).toBe(want[name]!.sha256);
        expectClose(got[name]!.predictions, want[name]!.predictions!, name === 'spam' || name === 'mnist' ? 1e-4 : 1e-3);
      }
      for (const name of DECODERS) {
        expect(got[name]!.sha256).toBe(want[name]!.sha256);
        expect(got[name]!.text).toBe(want[name]!.text);
      }
      // A trained LM writes more than one repeated character.
      expect(new Set(want['moby decoder']!.text).size).toBeGreaterThan(2);
    }, 300_000);
  }
});
