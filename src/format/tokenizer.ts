// The tokenizer a model file carries: its tokenizer.json, plain (minnow.tokenizer) or gzipped and
// base64-encoded (minnow.tokenizer.gz, which `minnow compress` writes). fflate inflates, so the same
// code reads files in Node, browsers and React Native; the writer passes its own gzip in (Node's
// zlib packs a BPE vocabulary about 3% smaller than fflate at the same level).
import { gunzipSync, strFromU8, strToU8 } from 'fflate';
import { META, metaValue, type Metadata } from './metadata.js';

/** The tokenizer.json a model carries, stored plain or gzipped; undefined when it has none. */
export function tokenizerJsonOf(metadata: Metadata): string | undefined {
  const plain = metaValue(metadata, META.tokenizer);
  if (plain !== undefined) return plain;
  const packed = metaValue(metadata, META.tokenizerGz);
  return packed === undefined ? undefined : strFromU8(gunzipSync(fromBase64(packed)));
}

/**
 * Stores the tokenizer gzipped: a BPE vocabulary and its merges are text that shrinks about 3x,
 * and in a quantized student they can be a sixth of the file.
 */
export function gzipTokenizer(metadata: Map<string, string>, gzip: (bytes: Uint8Array) => Uint8Array): void {
  const plain = metadata.get(META.tokenizer);
  if (plain === undefined) return;
  const packed = toBase64(gzip(strToU8(plain)));
  if (packed.length >= plain.length) return; // a tiny vocabulary does not shrink
  metadata.set(META.tokenizerGz, packed);
  metadata.delete(META.tokenizer);
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In slices: String.fromCharCode takes its arguments on the stack.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
