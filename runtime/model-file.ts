// What the runtime reads from an ONNX file before handing it to ONNX Runtime: metadata_props, the
// graph's input/output names, and the initializers' bytes (to check the weights' sha256).
import { ProtoReader, text } from './protobuf.js';

export interface Initializer { name: string; dims: number[]; raw?: Uint8Array }

export interface ModelFile {
  metadata: Record<string, string>;
  inputs: string[];
  outputs: string[];
  initializers: Initializer[];
}

export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

function parseTensor(r: ProtoReader): Initializer {
  const t: Initializer = { name: '', dims: [] };
  for (let tag = r.tag(); tag; tag = r.tag()) {
    if (tag.field === 1 && tag.wire === 0) t.dims.push(r.varint());
    else if (tag.field === 1 && tag.wire === 2) { const p = r.sub(); while (!p.done) t.dims.push(p.varint()); }
    else if (tag.field === 8 && tag.wire === 2) t.name = text(r.bytes());
    else if (tag.field === 9 && tag.wire === 2) t.raw = r.bytes();
    else r.skip(tag.wire);
  }
  return t;
}

function valueName(r: ProtoReader): string {
  for (let tag = r.tag(); tag; tag = r.tag()) {
    if (tag.field === 1 && tag.wire === 2) return text(r.bytes());
    r.skip(tag.wire);
  }
  return '';
}

export function readModelFile(bytes: Uint8Array): ModelFile {
  const model: ModelFile = { metadata: {}, inputs: [], outputs: [], initializers: [] };
  let sawGraph = false;
  try {
    const r = new ProtoReader(bytes);
    for (let tag = r.tag(); tag; tag = r.tag()) {
      if (tag.field === 14 && tag.wire === 2) {
        const e = r.sub();
        let key = '', value = '';
        for (let t = e.tag(); t; t = e.tag()) {
          if (t.field === 1 && t.wire === 2) key = text(e.bytes());
          else if (t.field === 2 && t.wire === 2) value = text(e.bytes());
          else e.skip(t.wire);
        }
        model.metadata[key] = value;
      } else if (tag.field === 7 && tag.wire === 2) {
        sawGraph = true;
        const g = r.sub();
        for (let t = g.tag(); t; t = g.tag()) {
          if (t.field === 5 && t.wire === 2) model.initializers.push(parseTensor(g.sub()));
          else if (t.field === 11 && t.wire === 2) model.inputs.push(valueName(g.sub()));
          else if (t.field === 12 && t.wire === 2) model.outputs.push(valueName(g.sub()));
          else g.skip(t.wire);
        }
      } else r.skip(tag.wire);
    }
  } catch (err) {
    throw new ModelFormatError(`not a valid ONNX file (${(err as Error).message}); it may be truncated or corrupt`);
  }
  if (!sawGraph) throw new ModelFormatError('not an ONNX model: no graph found');
  const initNames = new Set(model.initializers.map((i) => i.name));
  model.inputs = model.inputs.filter((n) => !initNames.has(n));
  return model;
}

/**
 * sha256 over the initializers in file order (name, dims as JSON, raw bytes): the digest minnow
 * writes as minnow.weights_sha256. Undefined when a tensor does not keep raw bytes.
 */
export async function weightsSha256(file: ModelFile): Promise<string | undefined> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const init of file.initializers) {
    if (!init.raw) return undefined;
    parts.push(enc.encode(init.name), enc.encode(JSON.stringify(init.dims)), init.raw);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  const digest = await globalThis.crypto.subtle.digest('SHA-256', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
