// Adapted weights kept on the device: model.saveAdaptation() stores the fine-tuned weights (not the
// whole model) in IndexedDB in a browser or in a file on Node; restoreAdaptation() writes them back
// into the shipped model. Loaded only when an app calls one of them.
//
// Stored form: 'MNAD', a little-endian uint32 header length, a JSON header (format, the shipped
// weights' sha256, the part, each weight's name and length, the provenance), then the float32 values.
import { META } from '../src/format/metadata.js';
import { FINETUNE_META, type FinetuneSpec } from '../src/format/finetune.js';
import { isNode } from './load.js';
import { RuntimeInputError } from './model.js';
import type { AdaptableModel as Model } from './adaptable.js';
import { rewriteModel, runFile, weightOf } from './model-write.js';

interface Header { format: 1; base?: string; part: string; weights: { name: string; length: number }[]; provenance?: string }

const MAGIC = [0x4d, 0x4e, 0x41, 0x44];

function encode(model: Model): Uint8Array {
  const spec = JSON.parse(model.info.metadata[FINETUNE_META.spec] ?? 'null') as FinetuneSpec | null;
  if (!spec) throw new RuntimeInputError('this model has no training step, so nothing of it is adapted');
  const values = spec.params.map((name) => weightOf(model.current.file, name));
  const header: Header = {
    format: 1, base: model.shipped.file.metadata[META.weightsSha256], part: spec.part,
    weights: spec.params.map((name, i) => ({ name, length: values[i]!.length })), provenance: model.info.metadata[META.provenance],
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const body = values.reduce((n, v) => n + v.byteLength, 0);
  const out = new Uint8Array(8 + json.length + body);
  out.set(MAGIC);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const v of values) { out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at); at += v.byteLength; }
  return out;
}

function decode(bytes: Uint8Array): { header: Header; weights: Map<string, Float32Array> } {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) throw new RuntimeInputError('not a stored adaptation of a minnow model');
  const length = new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Header;
  const weights = new Map<string, Float32Array>();
  let at = 8 + length;
  for (const w of header.weights) {
    if (at + w.length * 4 > bytes.length) throw new RuntimeInputError('the stored adaptation is cut short');
    weights.set(w.name, new Float32Array(bytes.slice(at, at + w.length * 4).buffer));
    at += w.length * 4;
  }
  return { header, weights };
}

function idbRequest<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => { request.onsuccess = () => resolve(request.result); request.onerror = () => reject(request.error); });
}

async function idbStore(mode: IDBTransactionMode): Promise<IDBObjectStore> {
  const open = indexedDB.open('minnow', 1);
  open.onupgradeneeded = () => open.result.createObjectStore('adaptations');
  return (await idbRequest(open)).transaction('adaptations', mode).objectStore('adaptations');
}

async function write(where: string, bytes: Uint8Array): Promise<void> {
  if (!isNode) { await idbRequest((await idbStore('readwrite')).put(bytes, where)); return; }
  const fs = await import('node:fs/promises');
  const tmp = `${where}.tmp-${Math.random().toString(36).slice(2)}`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, where);
}

async function read(where: string): Promise<Uint8Array | undefined> {
  if (!isNode) return (await idbRequest((await idbStore('readonly')).get(where))) as Uint8Array | undefined;
  const fs = await import('node:fs/promises');
  try { return new Uint8Array(await fs.readFile(where)); } catch { return undefined; }
}

export async function saveAdaptation(model: Model, where: string): Promise<void> {
  await write(where, encode(model));
}

export async function restoreAdaptation(model: Model, where: string): Promise<boolean> {
  const bytes = await read(where);
  if (!bytes) return false;
  const { header, weights } = decode(bytes);
  const base = model.shipped.file.metadata[META.weightsSha256];
  if (header.base !== base) throw new RuntimeInputError(`the adaptation stored at '${where}' was made for other weights (${String(header.base).slice(0, 12)}…, this model ${String(base).slice(0, 12)}…)`);
  const metadata: Record<string, string> = header.provenance ? { [META.provenance]: header.provenance } : {};
  const { bytes: adapted, file } = await rewriteModel(model.shipped.bytes, weights, metadata);
  await runFile(model, adapted, file);
  return true;
}
