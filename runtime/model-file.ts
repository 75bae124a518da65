// What the runtime reads from an ONNX file before handing it to ONNX Runtime: metadata_props, the
// graph's input/output names, and the initializers' bytes (to check the weights' sha256).
import { ProtoReader, text } from './protobuf.js';
import { weightsDigest, webCryptoSha256 } from '../src/format/digest.js';

export interface Initializer { name: string; dims: number[]; raw?: Uint8Array }

export interface ModelFile {
  metadata: Record<string, string>;
  inputs: string[];
  /** Declared shapes of the graph inputs (numbers, or names for symbolic dims). */
  inputShapes: Record<string, (number | string)[]>;
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

/** Calls `visit` with each length-delimited `field` of a message, skipping the rest. */
function each(m: ProtoReader, field: number, visit: (sub: ProtoReader) => void): void {
  for (let t = m.tag(); t; t = m.tag()) {
    if (t.field === field && t.wire === 2) visit(m.sub());
    else m.skip(t.wire);
  }
}

function dimOf(d: ProtoReader): number | string {
  let dim: number | string = '?';
  for (let t = d.tag(); t; t = d.tag()) {
    if (t.field === 1 && t.wire === 0) dim = d.varint(); // dim_value
    else if (t.field === 2 && t.wire === 2) dim = text(d.bytes()); // dim_param
    else d.skip(t.wire);
  }
  return dim;
}

/** ValueInfoProto: its name (1) and the dims of type (2) -> tensor_type (1) -> shape (2) -> dim (1). */
function valueInfo(r: ProtoReader): { name: string; shape: (number | string)[] } {
  let name = '';
  const shape: (number | string)[] = [];
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1 && t.wire === 2) name = text(r.bytes());
    else if (t.field === 2 && t.wire === 2) each(r.sub(), 1, (tensor) => each(tensor, 2, (s) => each(s, 1, (d) => { shape.push(dimOf(d)); })));
    else r.skip(t.wire);
  }
  return { name, shape };
}

export function readModelFile(bytes: Uint8Array): ModelFile {
  const model: ModelFile = { metadata: {}, inputs: [], inputShapes: {}, outputs: [], initializers: [] };
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
          else if (t.field === 11 && t.wire === 2) { const v = valueInfo(g.sub()); model.inputs.push(v.name); model.inputShapes[v.name] = v.shape; }
          else if (t.field === 12 && t.wire === 2) model.outputs.push(valueInfo(g.sub()).name);
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
 * The weights' sha256 as minnow.weights_sha256 defines it (src/format/digest.ts), with WebCrypto.
 * Undefined when a tensor does not keep raw bytes.
 */
export async function weightsSha256(file: ModelFile): Promise<string | undefined> {
  if (file.initializers.some((init) => !init.raw)) return undefined;
  return weightsDigest(file.initializers.map((init) => ({ name: init.name, dims: init.dims, bytes: init.raw! })), webCryptoSha256);
}
