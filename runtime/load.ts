// loadModel(): bytes from a URL, a path, or memory; integrity check; an ONNX Runtime session from
// the app's own `ort` module (onnxruntime-web, -node or -react-native).
import { readModelFile, weightsSha256, ModelFormatError, type ModelFile } from './model-file.js';
import type { Model } from './model.js';
import { META } from '../src/format/metadata.js';
import { toHex } from '../src/format/digest.js';

/** The part of an onnxruntime module the runtime uses. */
export interface OrtLike {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => OrtTensor;
}
export interface OrtTensor { data: unknown; dims: readonly number[]; type: string; dispose?(): void }
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release?(): Promise<void>;
  inputNames: readonly string[];
  outputNames: readonly string[];
  /** Bytes held, where the executor counts them (minnow/micro does; ONNX Runtime does not say). */
  readonly memory?: { weights: number; peakActivations: number };
}

export interface LoadOptions {
  ort: OrtLike;
  executionProviders?: string[];
  /** Intra-op threads (wasm: numThreads is set on ort.env by the app). */
  threads?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { loaded: number; total?: number }) => void;
  /** Browsers: keep downloads in the Cache API (default true). Node: a directory to cache in. */
  cache?: boolean | string;
  /** Verify against this digest instead of (or when there is no) minnow.weights_sha256. */
  expectedSha256?: string;
  /** Run once on load so the first real call is fast (default true). */
  warmup?: boolean;
  /** Text longer than the model's context: 'error' (default) or cut on the right. */
  truncation?: 'error' | 'right';
}

export type ModelSource = string | URL | ArrayBuffer | Uint8Array;

export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

const isUrl = (s: string) => /^(https?|blob|data):/i.test(s);
export const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function fetchBytes(url: string, options: LoadOptions): Promise<Uint8Array> {
  const cache = options.cache === true || options.cache === undefined ? (typeof caches !== 'undefined' && !url.startsWith('data:') ? await caches.open('minnow-models') : undefined) : undefined;
  let response = cache ? await cache.match(url) : undefined;
  const fromCache = Boolean(response);
  if (!response) {
    response = await fetch(url, { signal: options.signal });
    if (!response.ok) throw new ModelLoadError(`could not download ${url}: HTTP ${response.status}`);
  }
  const total = Number(response.headers.get('content-length')) || undefined;
  const reader = response.clone().body?.getReader();
  if (!reader) return new Uint8Array(await response.arrayBuffer());
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    options.onProgress?.({ loaded, total });
  }
  const bytes = new Uint8Array(loaded);
  let o = 0;
  for (const c of chunks) { bytes.set(c, o); o += c.length; }
  if (cache && !fromCache) await cache.put(url, response);
  return bytes;
}

/** Node: downloads kept in a directory, named by the sha256 of their URL. */
async function fetchCachedOnDisk(url: string, dir: string, options: LoadOptions): Promise<Uint8Array> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const key = toHex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(url))));
  const file = path.join(dir, `${key}.onnx`);
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch { /* not cached yet */ }
  const bytes = await fetchBytes(url, { ...options, cache: false });
  await fs.mkdir(dir, { recursive: true });
  const tmp = `${file}.tmp-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, file);
  return bytes;
}

async function readBytes(source: ModelSource, options: LoadOptions): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const s = source.toString();
  if (isUrl(s) && isNode && typeof options.cache === 'string') return fetchCachedOnDisk(s, options.cache, options);
  if (isUrl(s)) return fetchBytes(s, options);
  if (!isNode) throw new ModelLoadError(`'${s}' is not a URL; in a browser give a URL, an ArrayBuffer or a Uint8Array`);
  const fs = await import('node:fs/promises');
  try {
    const bytes = new Uint8Array(await fs.readFile(s));
    options.onProgress?.({ loaded: bytes.length, total: bytes.length });
    return bytes;
  } catch {
    throw new ModelLoadError(`model file '${s}' cannot be read`);
  }
}

/**
 * A Model class, made from the app's onnxruntime, the session, and the file it runs (with its bytes
 * and the options the session was made with, which minnow/micro's Model has no use for).
 */
export type ModelClass<M extends Model> = new (
  ort: OrtLike, session: OrtSession, file: ModelFile, sha256: string | undefined, truncation: 'error' | 'right',
  bytes: Uint8Array, sessionOptions: Record<string, unknown>,
) => M;

/** Reads, verifies and opens a model as a `Kind` (minnow/runtime's Model can fine-tune, minnow/micro's only runs). */
export async function openModel<M extends Model>(source: ModelSource, options: LoadOptions, Kind: ModelClass<M>): Promise<M> {
  if (!options?.ort?.InferenceSession) throw new ModelLoadError('loadModel needs { ort }: the onnxruntime module your app uses (onnxruntime-web, -node or -react-native)');
  const bytes = await readBytes(source, options);
  options.signal?.throwIfAborted();
  let file: ModelFile;
  try {
    file = readModelFile(bytes);
  } catch (err) {
    throw new ModelLoadError(`${err instanceof ModelFormatError ? err.message : String(err)} (${bytes.length} bytes)`);
  }
  const expected = options.expectedSha256 ?? file.metadata[META.weightsSha256];
  let sha256: string | undefined;
  if (expected) {
    sha256 = await weightsSha256(file);
    if (sha256 === undefined) throw new ModelLoadError('cannot verify the weights: the file does not store them as raw bytes');
    if (sha256 !== expected) throw new ModelLoadError(`the model's weights do not match their sha256 (expected ${expected.slice(0, 12)}…, got ${sha256.slice(0, 12)}…): the file is corrupt or was changed`);
  }
  let session: OrtSession;
  const sessionOptions: Record<string, unknown> = {};
  try {
    if (options.executionProviders) sessionOptions.executionProviders = options.executionProviders;
    if (options.threads) sessionOptions.intraOpNumThreads = options.threads;
    session = await options.ort.InferenceSession.create(bytes, sessionOptions);
  } catch (err) {
    // minnow/micro's own refusals (an op it does not run) say what they are; ONNX Runtime's need saying.
    const message = (err as Error).message.split('\n')[0];
    throw new ModelLoadError((err as Error).name === 'MicroError' ? message! : `ONNX Runtime could not load the model: ${message}`);
  }
  const model = new Kind(options.ort, session, file, sha256, options.truncation ?? 'error', bytes, sessionOptions);
  if (options.warmup !== false) await model.warmup();
  return model;
}
