// A model file with new values for some float32 weights and some metadata entries, written by
// patching the bytes it was loaded from: the weights in place (same length), the metadata entries
// replaced. Everything else, graph and all, stays byte for byte; and the model's switch to such a
// file. Loaded only when an app fine-tunes, restores adapted weights or resets.
import { META } from '../src/format/metadata.js';
import { ProtoReader, text } from './protobuf.js';
import { readModelFile, weightsSha256, type ModelFile } from './model-file.js';
import type { AdaptableModel as Model } from './adaptable.js';

const utf8 = new TextEncoder();

function varint(n: number, out: number[]): void {
  while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
  out.push(n);
}

/** A metadata_props entry (ModelProto field 14: StringStringEntryProto key 1, value 2). */
function metadataEntry(key: string, value: string): Uint8Array {
  const k = utf8.encode(key), v = utf8.encode(value);
  const body: number[] = [0x0a];
  varint(k.length, body);
  body.push(...k, 0x12);
  varint(v.length, body);
  const head: number[] = [0x72];
  varint(body.length + v.length, head);
  const out = new Uint8Array(head.length + body.length + v.length);
  out.set(head);
  out.set(body, head.length);
  out.set(v, head.length + body.length);
  return out;
}

function entryKey(r: ProtoReader): string {
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1 && t.wire === 2) return text(r.bytes());
    r.skip(t.wire);
  }
  return '';
}

/** The top-level fields of `bytes`, less the metadata entries whose key is in `drop`, then `entries`. */
function replaceMetadata(bytes: Uint8Array, drop: Set<string>, entries: Uint8Array[]): Uint8Array {
  const kept: Uint8Array[] = [];
  const r = new ProtoReader(bytes);
  for (let start = r.pos, tag = r.tag(); tag; start = r.pos, tag = r.tag()) {
    if (tag.field === 14 && tag.wire === 2) {
      if (drop.has(entryKey(r.sub()))) continue;
    } else r.skip(tag.wire);
    kept.push(bytes.subarray(start, r.pos));
  }
  const parts = [...kept, ...entries];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** `bytes` with `weights` written over the initializers of those names, and `metadata` set; the weights digest is recomputed. */
export async function rewriteModel(bytes: Uint8Array, weights: Map<string, Float32Array>, metadata: Record<string, string>): Promise<{ bytes: Uint8Array; file: ModelFile }> {
  // new Uint8Array(x) copies; a Node Buffer's slice() would not.
  const patched = new Uint8Array(bytes);
  const file = readModelFile(patched);
  for (const [name, values] of weights) {
    const init = file.initializers.find((i) => i.name === name);
    if (!init?.raw || init.raw.length !== values.byteLength) throw new Error(`weight '${name}' is not a float32 tensor of ${values.length} values in this file`);
    init.raw.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const sha = await weightsSha256(file);
  const all: Record<string, string> = { ...metadata, ...(sha ? { [META.weightsSha256]: sha } : {}) };
  const out = replaceMetadata(patched, new Set(Object.keys(all)), Object.entries(all).map(([k, v]) => metadataEntry(k, v)));
  return { bytes: out, file: readModelFile(out) };
}

/** The float32 values of a weight as stored in `file`. */
export function weightOf(file: ModelFile, name: string): Float32Array {
  const raw = file.initializers.find((i) => i.name === name)?.raw;
  if (!raw || raw.length % 4 !== 0) throw new Error(`the model file has no float32 weight '${name}'`);
  // A copy: the file's bytes stay as they are, and the copy is aligned for Float32Array.
  return new Float32Array(new Uint8Array(raw).buffer);
}

/** `model` runs `bytes` from now on: a new session, made as the first was; the old one is released. */
export async function runFile(model: Model, bytes: Uint8Array, file: ModelFile): Promise<void> {
  model.check();
  const session = await model.ort.InferenceSession.create(bytes, model.sessionOptions);
  const old = model.session;
  model.use(session);
  model.current = { bytes, file };
  Object.assign(model.info, { metadata: file.metadata, sha256: file.metadata[META.weightsSha256] ?? model.info.sha256 });
  await old.release?.();
}
