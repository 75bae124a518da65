// An ONNX model's graph as minnow/micro runs it: nodes with their attributes, and initializers as
// tensors, read with the runtime's small protobuf reader (no protobuf library, no Node built-ins).
import { ProtoReader, text } from '../protobuf.js';
import { fromHalfArray } from '../../src/format/fp16.js';
import { MicroTensor, sizeOf, type MicroType } from './tensor.js';

export type Attr = number | number[] | string | MicroTensor;

export interface MicroNode {
  op: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, Attr>;
  /** Nodes folded into this one at load (fuse.ts), applied in order to its output, in place. */
  epilogue?: Step[];
  /** A MatMulInteger whose Cast to float32 was folded into it. */
  castToFloat?: boolean;
}

/** One folded node: an element-wise op with an input of the fused node, or an activation, or a softmax. */
export type Step = { op: 'Add' | 'Mul'; input: number } | { op: 'Gelu' | 'Relu'; tanh: boolean } | { op: 'Softmax' };

export interface MicroGraph {
  /** The opset of ONNX's own domain. */
  opset: number;
  nodes: MicroNode[];
  initializers: Map<string, MicroTensor>;
  inputs: string[];
  outputs: string[];
}

/** ONNX TensorProto.DataType codes that micro reads. */
const TYPES: Record<number, MicroType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };
/** float16, which micro widens to float32 as it reads it (compressed tables keep their scales so). */
const FLOAT16 = 10;
export const TYPE_CODES: Record<MicroType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };

const ARRAYS = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array } as const;

/** A tensor's values from raw little-endian bytes, copied so that the array is aligned and its own. */
function typed(type: MicroType, raw: Uint8Array, n: number): MicroTensor['data'] {
  // new Uint8Array(view) copies, where a Node Buffer's slice() would share its pool.
  return new ARRAYS[type](new Uint8Array(raw).buffer, 0, n);
}

/** IEEE half-precision bits (raw, or int32_data as ONNX stores them) as float32 values. */
function widenHalf(raw: Uint8Array | undefined, values: number[], n: number): Float32Array {
  return fromHalfArray(raw ? new Uint16Array(new Uint8Array(raw).buffer, 0, n) : Uint16Array.from(values));
}

/** TensorProto: dims (1), data_type (2), float_data (4), int32_data (5), int64_data (7), name (8), raw_data (9). */
export function readTensor(r: ProtoReader): { name: string; tensor: MicroTensor } {
  const dims: number[] = [];
  let code = 1, name = '', raw: Uint8Array | undefined;
  const values: number[] = [];
  const packed = (read: () => number) => { const p = r.sub(); while (!p.done) values.push(read.call(p)); };
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) { if (t.wire === 2) { const p = r.sub(); while (!p.done) dims.push(p.int64()); } else dims.push(r.int64()); }
    else if (t.field === 2) code = r.varint();
    else if (t.field === 8) name = text(r.bytes());
    else if (t.field === 9) raw = r.bytes();
    else if (t.field === 14 && r.varint() === 1) throw new Error(`tensor '${name}' keeps its data in an external file, which minnow/micro does not read`);
    else if (t.field === 4) { if (t.wire === 2) packed(ProtoReader.prototype.float32); else values.push(r.float32()); }
    else if (t.field === 5 || t.field === 7) { if (t.wire === 2) packed(ProtoReader.prototype.int64); else values.push(r.int64()); }
    else r.skip(t.wire);
  }
  if (code === FLOAT16) return { name, tensor: new MicroTensor('float32', widenHalf(raw, values, sizeOf(dims)), dims) };
  const type = TYPES[code];
  if (!type) throw new Error(`tensor '${name}' has ONNX data type ${code}, which minnow/micro does not read`);
  const n = sizeOf(dims);
  const have = raw ? raw.length / (type === 'float32' || type === 'int32' ? 4 : type === 'int64' ? 8 : 1) : values.length;
  if (have !== n) throw new Error(`tensor '${name}' holds ${have} values for dims [${dims}]`);
  if (raw) return { name, tensor: new MicroTensor(type, typed(type, raw, n), dims) };
  const data = type === 'int64' ? BigInt64Array.from(values, (v) => BigInt(v)) : new ARRAYS[type](values);
  return { name, tensor: new MicroTensor(type, data, dims) };
}

/** AttributeProto: name (1), f (2), i (3), s (4), t (5), floats (7), ints (8). */
function readAttr(r: ProtoReader): [string, Attr] {
  let name = '';
  let value: Attr = 0;
  const list: number[] = [];
  let isList = false;
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) name = text(r.bytes());
    else if (t.field === 2 && t.wire === 5) value = r.float32();
    else if (t.field === 3) value = r.int64();
    else if (t.field === 4) value = text(r.bytes());
    else if (t.field === 5) value = readTensor(r.sub()).tensor;
    else if (t.field === 7) { isList = true; if (t.wire === 2) { const p = r.sub(); while (!p.done) list.push(p.float32()); } else list.push(r.float32()); }
    else if (t.field === 8) { isList = true; if (t.wire === 2) { const p = r.sub(); while (!p.done) list.push(p.int64()); } else list.push(r.int64()); }
    else r.skip(t.wire);
  }
  return [name, isList ? list : value];
}

/** NodeProto: input (1), output (2), name (3), op_type (4), attribute (5), domain (7). */
function readNode(r: ProtoReader): MicroNode {
  const node: MicroNode = { op: '', domain: '', name: '', inputs: [], outputs: [], attrs: {} };
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) node.inputs.push(text(r.bytes()));
    else if (t.field === 2) node.outputs.push(text(r.bytes()));
    else if (t.field === 3) node.name = text(r.bytes());
    else if (t.field === 4) node.op = text(r.bytes());
    else if (t.field === 5) { const [k, v] = readAttr(r.sub()); node.attrs[k] = v; }
    else if (t.field === 7) node.domain = text(r.bytes());
    else r.skip(t.wire);
  }
  return node;
}

function valueName(r: ProtoReader): string {
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) return text(r.bytes());
    r.skip(t.wire);
  }
  return '';
}

/** OperatorSetIdProto: domain (1), version (2). */
function opsetOf(r: ProtoReader): [string, number] {
  let domain = '', version = 0;
  for (let t = r.tag(); t; t = r.tag()) {
    if (t.field === 1) domain = text(r.bytes());
    else if (t.field === 2) version = r.int64();
    else r.skip(t.wire);
  }
  return [domain, version];
}

/** The graph of a ModelProto (field 7): nodes (1), initializers (5), inputs (11), outputs (12). */
export function readGraph(bytes: Uint8Array): MicroGraph {
  const graph: MicroGraph = { opset: 0, nodes: [], initializers: new Map(), inputs: [], outputs: [] };
  const m = new ProtoReader(bytes);
  for (let t = m.tag(); t; t = m.tag()) {
    if (t.field === 8 && t.wire === 2) { const [domain, version] = opsetOf(m.sub()); if (domain === '' || domain === 'ai.onnx') graph.opset = version; continue; }
    if (t.field !== 7 || t.wire !== 2) { m.skip(t.wire); continue; }
    const g = m.sub();
    for (let u = g.tag(); u; u = g.tag()) {
      if (u.field === 1) graph.nodes.push(readNode(g.sub()));
      else if (u.field === 5) { const { name, tensor } = readTensor(g.sub()); graph.initializers.set(name, tensor); }
      else if (u.field === 11) graph.inputs.push(valueName(g.sub()));
      else if (u.field === 12) graph.outputs.push(valueName(g.sub()));
      else g.skip(u.wire);
    }
  }
  graph.inputs = graph.inputs.filter((n) => !graph.initializers.has(n));
  return graph;
}
