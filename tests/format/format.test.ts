// The model-file format in one place: what the trainer writes, the runtime reads the same way.
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { META, labelsOf, metaValue, preprocessingOf } from '../../src/format/metadata.js';
import { cachedLayers, pastKeyName, pastValueName, presentKeyName } from '../../src/format/names.js';
import { toHex, webCryptoSha256, weightsDigest } from '../../src/format/digest.js';
import { fromBase64, gunzip, gzipTokenizer, tokenizerJsonOf } from '../../src/format/tokenizer.js';
import { Rng, mulberry32 } from '../../src/format/rng.js';
import { fromHalf, toHalf } from '../../src/format/fp16.js';
import { sha256 } from '../../src/util/sha256.js';

describe('src/format', () => {
  it('reads metadata from a Map (trainer) and from a plain object (runtime) alike', () => {
    const entries: [string, string][] = [[META.labels, '["ham","spam"]'], [META.preprocessing, '{"kind":"text","max_length":8,"pad_id":0,"truncation":"right"}']];
    for (const m of [new Map(entries), Object.fromEntries(entries)]) {
      expect(metaValue(m, META.labels)).toBe('["ham","spam"]');
      expect(labelsOf(m)).toEqual(['ham', 'spam']);
      expect(preprocessingOf(m)).toEqual({ kind: 'text', max_length: 8, pad_id: 0, truncation: 'right' });
      expect(metaValue(m, META.task)).toBeUndefined();
    }
  });

  it('the weights digest is the same through Node crypto and WebCrypto, and changes with one byte', async () => {
    const weights = [{ name: 'a.weight', dims: [2, 2], bytes: new Uint8Array(16).fill(3) }, { name: 'b', dims: [1], bytes: new Uint8Array([1, 2, 3, 4]) }];
    const node = weightsDigest(weights, sha256);
    expect(node).toMatch(/^[0-9a-f]{64}$/);
    expect(await weightsDigest(weights, webCryptoSha256)).toBe(node);
    const flipped = [weights[0]!, { ...weights[1]!, bytes: new Uint8Array([1, 2, 3, 5]) }];
    expect(weightsDigest(flipped, sha256)).not.toBe(node);
    expect(toHex(new Uint8Array([0, 15, 255]))).toBe('000fff');
  });

  it('stores a large tokenizer gzipped and reads it back; a tiny one stays plain', () => {
    const big = JSON.stringify({ model: { type: 'BPE', vocab: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`tok${i}`, i])) } });
    const m = new Map<string, string>([[META.tokenizer, big]]);
    gzipTokenizer(m, (b) => gzipSync(b, { level: 9 }));
    expect(m.has(META.tokenizer)).toBe(false);
    expect(m.get(META.tokenizerGz)!.length).toBeLessThan(big.length / 2);
    expect(tokenizerJsonOf(m)).toBe(big);
    expect(tokenizerJsonOf(Object.fromEntries(m))).toBe(big);
    const tiny = new Map<string, string>([[META.tokenizer, '{"model":{"type":"WordLevel","vocab":{"a":0}}}']]);
    gzipTokenizer(tiny, (b) => gzipSync(b, { level: 9 }));
    expect([...tiny.keys()]).toEqual([META.tokenizer]);
    expect(tokenizerJsonOf(new Map())).toBeUndefined();
  });

  it('gunzips in plain JavaScript, skipping the optional header fields, and decodes base64 without atob', () => {
    const text = new TextEncoder().encode('naïve café — 東京 😀 '.repeat(300));
    const plain = gzipSync(text);
    // FEXTRA (4 bytes), FNAME and FCOMMENT inserted after the fixed header, as other gzip writers may.
    const extra = Uint8Array.of(4, 0, 1, 2, 3, 4, ...new TextEncoder().encode('tokenizer.json'), 0, ...new TextEncoder().encode('hi'), 0);
    const flagged = Uint8Array.from([...plain.subarray(0, 3), plain[3]! | 4 | 8 | 16, ...plain.subarray(4, 10), ...extra, ...plain.subarray(10)]);
    expect(gunzip(plain)).toEqual(text);
    expect(gunzip(flagged)).toEqual(text);
    expect(() => gunzip(text)).toThrow(/not gzip/);
    // Corrupt files fail in one line rather than hang or read garbage: a name with no end, a cut trailer.
    expect(() => gunzip(Uint8Array.of(0x1f, 0x8b, 8, 8, 0, 0, 0, 0, 0, 3, 0x41, 0x42))).toThrow(/corrupt/);
    expect(() => gunzip(plain.subarray(0, plain.length - 5))).toThrow();
    expect(() => fromBase64('QUJD' + 'Q')).toThrow(/cut short/);
    for (let n = 0; n < 20; n++) {
      const bytes = Uint8Array.from({ length: n * 7 }, (_, i) => (i * 37 + n) & 255);
      expect(fromBase64(Buffer.from(bytes).toString('base64'))).toEqual(bytes);
    }
  });

  it('counts the cached layers of a decoder from its input names', () => {
    expect(cachedLayers(['input_ids', pastKeyName(0), pastValueName(0), pastKeyName(1), pastValueName(1)])).toBe(2);
    expect(cachedLayers(['input_ids', 'attention_mask'])).toBe(0);
    expect(presentKeyName(3)).toBe('present.3.key');
  });

  it('draws the same numbers from a seed, whether as Rng or mulberry32', () => {
    const a = new Rng(42), b = mulberry32(42);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Rng(43).next()).not.toBe(xs[0]);
  });

  it('round-trips float16', () => {
    for (const v of [0, 1, -2.5, 65504, 6.103515625e-5]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1 / 3))).toBeCloseTo(1 / 3, 3);
  });
});
