// minnow/micro where there is no WebAssembly to lean on: in QuickJS (quickjs-emscripten: QuickJS
// compiled to wasm, but the code it runs sees only QuickJS: no TextEncoder, no WebCrypto, no wasm),
// with the UTF-8 codecs and SHA-256 that micro brings for such engines.
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { getQuickJS } from 'quickjs-emscripten';
import * as ortNode from 'onnxruntime-node';
import { train } from '../../src/train/job.js';
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

describe('minnow/micro in QuickJS', () => {
  it('classifies the spam student (weights verified) with the scores onnxruntime-node gives, to 1e-4', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'minnow-qjs-'));
    await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', epochs: 1, batch: 16, lr: 3e-3, vocabSize: 400, out, dataOptions: { limit: 128 } });
    const bytes = readFileSync(path.join(out, 'model.onnx'));
    const texts = ['Congratulations! You have WON a free cruise.', 'Minutes of the budget meeting are attached — 東京 😀'];
    const code = (await build({
      entryPoints: [path.join(root, 'runtime/micro/index.ts')], bundle: true, format: 'iife', globalName: 'micro', platform: 'neutral', target: 'es2020',
      write: false, external: ['node:fs/promises', 'node:path'],
    })).outputFiles[0]!.text;
    const vm = (await getQuickJS()).newContext();
    try {
      vm.unwrapResult(vm.evalCode(code, 'micro.js')).dispose();
      const model = vm.newArrayBuffer(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      vm.setProp(vm.global, 'modelBytes', model);
      model.dispose();
      vm.unwrapResult(vm.evalCode(`
        globalThis.engine = { wasm: typeof WebAssembly, crypto: typeof crypto };
        micro.loadModel(new Uint8Array(modelBytes), { truncation: 'right' })
          .then((m) => m.classify(${JSON.stringify(texts)}).then((r) => { globalThis.result = JSON.stringify({ r, sha256: m.info.sha256 }); }))
          .catch((e) => { globalThis.result = JSON.stringify({ error: String(e) }); });`)).dispose();
      for (let i = 0; i < 10_000; i++) if (vm.unwrapResult(vm.runtime.executePendingJobs()) === 0) break;
      const got = JSON.parse(vm.getProp(vm.global, 'result').consume((h) => vm.getString(h))) as { r: { label: string; score: number }[][]; sha256: string; error?: string };
      expect(got.error).toBeUndefined();
      expect(vm.getProp(vm.global, 'engine').consume((h) => vm.dump(h))).toEqual({ wasm: 'undefined', crypto: 'undefined' });
      const ref = await loadModel(bytes, { ort: ortNode as never, truncation: 'right' });
      expect(got.sha256).toBe(ref.info.sha256);
      const want = await ref.classify(texts);
      got.r.forEach((preds, i) => {
        expect(preds.map((p) => p.label)).toEqual(want[i]!.map((p) => p.label));
        preds.forEach((p, j) => expect(Math.abs(p.score - want[i]![j]!.score)).toBeLessThan(1e-4));
      });
    } finally {
      vm.dispose();
    }
  }, 120_000);
});
