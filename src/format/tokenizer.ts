// The tokenizer a model file carries: its tokenizer.json, plain (minnow.tokenizer) or gzipped and
// base64-encoded (minnow.tokenizer.gz, which `minnow compress` writes). tiny-inflate inflates (1.2 KB
// gzipped, half of fflate's inflate: the budget of minnow/micro counts it), so the same code reads
// files in Node, browsers, React Native and QuickJS; the writer passes its own gzip in.
import inflate from 'tiny-inflate';
import { META, metaValue, type Metadata } from './metadata.js';

/** The tokenizer.json a model carries, stored plain or gzipped; undefined when it has none. */
export function tokenizerJsonOf(metadata: Metadata): string | undefined {
  const plain = metaValue(metadata, META.tokenizer);
  if (plain !== undefined) return plain;
  const packed = metaValue(metadata, META.tokenizerGz);
  return packed === undefined ? undefined : new TextDecoder().decode(gunzip(fromBase64(packed)));
}

/**
 * Stores the tokenizer gzipped: a BPE vocabulary and its merges are text that shrinks about 3x,
 * and in a quantized student they can be a sixth of the file.
 */
export function gzipTokenizer(metadata: Map<string, string>, gzip: (bytes: Uint8Array) => Uint8Array): void {
  const plain = metadata.get(META.tokenizer);
  if (plain === undefined) return;
  const packed = toBase64(gzip(new TextEncoder().encode(plain)));
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

/** The deflate stream of a gzip member (RFC 1952) inflated: its header's optional fields skipped, its size read from the trailer. */
export function gunzip(bytes: Uint8Array): Uint8Array {
  const corrupt = () => new Error('the tokenizer\'s gzip data is corrupt; write the model again with minnow compress');
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8) throw new Error('the tokenizer is not gzip (deflate) data');
  const flags = bytes[3]!, end = bytes.length - 8;
  let at = 10;
  if (flags & 4) at += 2 + (bytes[at]! | (bytes[at + 1]! << 8));
  for (const field of [8, 16]) if (flags & field) { while (at < end && bytes[at] !== 0) at++; at++; }
  if (flags & 2) at += 2;
  const size = (bytes[end + 4]! | (bytes[end + 5]! << 8) | (bytes[end + 6]! << 16) | (bytes[end + 7]! << 24)) >>> 0;
  // Deflate packs at most about 1,032 to 1: a larger size is a corrupt trailer, not a reason to allocate gigabytes.
  if (at >= end || size > 1100 * bytes.length) throw corrupt();
  const out = inflate(bytes.subarray(at, end), new Uint8Array(size));
  if (out.length !== size) throw corrupt();
  return out;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 to bytes in plain JavaScript: Hermes before React Native 0.74 and QuickJS have no atob. */
export function fromBase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  if (clean.length % 4 === 1) throw new Error('the tokenizer\'s base64 is cut short');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  for (let i = 0, at = 0, bits = 0, n = 0; i < clean.length; i++) {
    const v = BASE64.indexOf(clean[i]!);
    if (v < 0) throw new Error(`the tokenizer's base64 has a stray character at ${i}`);
    bits = (bits << 6) | v;
    n += 6;
    if (n >= 8) { n -= 8; out[at++] = (bits >> n) & 255; }
  }
  return out;
}
