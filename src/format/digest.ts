// minnow.weights_sha256: sha256 over the initializers in file order, for each its name, its dims as
// JSON ("[784,256]") and its raw little-endian bytes. The trainer writes it, the runtime recomputes it
// to detect corrupt or tampered weights. The hash function is passed in, so that Node's crypto
// (synchronous) and WebCrypto (a promise) both serve.
import { sha256Bytes } from './sha256-js.js';

export interface StoredWeight { name: string; dims: readonly number[]; bytes: Uint8Array }

/** sha256 of a sequence of byte chunks, as lower-case hex. */
export type Sha256<R> = (chunks: Uint8Array[]) => R;

export function weightsDigest<R>(weights: Iterable<StoredWeight>, sha256: Sha256<R>): R {
  const utf8 = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const w of weights) chunks.push(utf8.encode(w.name), utf8.encode(JSON.stringify(w.dims)), w.bytes);
  return sha256(chunks);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * WebCrypto's sha256 (browsers, Node, Deno), or plain JavaScript's where an engine has no WebCrypto
 * (Hermes, QuickJS).
 */
export const webCryptoSha256: Sha256<Promise<string>> = async (chunks) => {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) { all.set(c, offset); offset += c.length; }
  const subtle = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  return toHex(subtle ? new Uint8Array(await subtle.digest('SHA-256', all)) : sha256Bytes(all));
};
