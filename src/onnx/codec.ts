// ModelProto <-> Graph, through protobufjs and the ONNX schema in onnx-schema.ts.
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnx-schema.js';
import { Graph, type Dim, type Node } from './graph.js';
import { FloatAttr, FloatsAttr, type AttrValue } from './attrs.js';
import { Tensor, ONNX_DATA_TYPE, dtypeFromOnnx, type DType } from './tensor.js';
import { checkGraph, topologicalOrder } from './check.js';

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
const ModelProto = root.lookupType('onnx.ModelProto');
const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export const IR_VERSION = 10;
export const PRODUCER = 'minnow';

type Long = { toNumber(): number };
const num = (v: number | Long | undefined | null): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/* eslint-disable @typescript-eslint/no-explicit-any */
function tensorToProto(name: string, t: Tensor): any {
  return { name, dims: t.dims, data_type: ONNX_DATA_TYPE[t.dtype], raw_data: t.bytes() };
}

function tensorFromProto(p: any): Tensor {
  const dtype = dtypeFromOnnx(p.data_type);
  const dims = (p.dims ?? []).map(num);
  if (p.data_location === 1) throw new Error(`tensor '${p.name}' keeps its data in an external file, which minnow does not read`);
  if (p.raw_data && p.raw_data.length > 0) return Tensor.fromBytes(dtype, dims, p.raw_data);
  const typed: Record<DType, () => ArrayLike<number | Long>> = {
    float32: () => p.float_data, float64: () => p.double_data, int64: () => p.int64_data,
    int32: () => p.int32_data, int8: () => p.int32_data, uint8: () => p.int32_data, bool: () => p.int32_data,
    float16: () => p.int32_data,
  };
  const values = Array.from(typed[dtype]() ?? [], (v) => num(v as number | Long));
  return Tensor.fromNumbers(dtype, dims, values);
}

function attrToProto(name: string, v: AttrValue): any {
  if (v instanceof FloatAttr) return { name, type: AttrType.FLOAT, f: v.value };
  if (v instanceof FloatsAttr) return { name, type: AttrType.FLOATS, floats: v.value };
  if (v instanceof Tensor) return { name, type: AttrType.TENSOR, t: tensorToProto('', v) };
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: utf8.encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute '${name}' = ${v} is not an integer; wrap float attributes in f()`);
    return { name, type: AttrType.INT, i: v };
  }
  if (v.length > 0 && typeof v[0] === 'string') return { name, type: AttrType.STRINGS, strings: (v as string[]).map((s) => utf8.encode(s)) };
  return { name, type: AttrType.INTS, ints: v };
}

function attrFromProto(p: any): AttrValue {
  switch (p.type) {
    case AttrType.FLOAT: return new FloatAttr(p.f ?? 0);
    case AttrType.INT: return num(p.i);
    case AttrType.STRING: return fromUtf8.decode(p.s);
    case AttrType.TENSOR: return tensorFromProto(p.t);
    case AttrType.FLOATS: return new FloatsAttr([...(p.floats ?? [])]);
    case AttrType.INTS: return (p.ints ?? []).map(num);
    case AttrType.STRINGS: return (p.strings ?? []).map((s: Uint8Array) => fromUtf8.decode(s));
    default: throw new Error(`attribute '${p.name}' has type ${p.type}, which minnow does not read`);
  }
}

function valueInfo(name: string, dtype: DType, shape: Dim[]): any {
  return {
    name,
    type: { tensor_type: { elem_type: ONNX_DATA_TYPE[dtype], shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  };
}

export interface EncodeOptions {
  producerVersion?: string;
  docString?: string;
}

/** Serialises a graph as an ONNX model; the graph is checked first. */
export function encodeModel(graph: Graph, options: EncodeOptions = {}): Uint8Array {
  checkGraph(graph.nodes, [...graph.inputs, ...graph.initializers.keys()], graph.outputs);
  const model = {
    ir_version: IR_VERSION,
    producer_name: PRODUCER,
    producer_version: options.producerVersion ?? '0.1.0',
    doc_string: options.docString ?? '',
    opset_import: [...graph.opsets].map(([domain, version]) => ({ domain, version })),
    metadata_props: [...graph.metadata].map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n) => ({
        name: n.name, op_type: n.opType, domain: n.domain, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs).map(([k, v]) => attrToProto(k, v)),
      })),
      initializer: [...graph.initializers].map(([name, t]) => tensorToProto(name, t)),
      input: graph.inputs.map((name) => valueInfo(name, graph.dtype(name), graph.shape(name))),
      output: graph.outputs.map((name) => {
        const t = graph.types.get(name);
        return t ? valueInfo(name, t.dtype, t.shape) : { name };
      }),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`internal error: ONNX model does not match the schema: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

export interface DecodedModel {
  graph: Graph;
  irVersion: number;
  producer: string;
}

/** Parses an ONNX model. Float initializers are marked trainable so a model can be fine-tuned. */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  let p: any;
  try {
    p = ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`not a valid ONNX model: ${(err as Error).message}`);
  }
  if (!p.graph || !p.opset_import?.length) throw new Error('not a valid ONNX model: it has no graph or no opset_import');
  const graph = new Graph(p.graph.name || 'model');
  for (const o of p.opset_import) graph.opsets.set(o.domain ?? '', num(o.version));
  for (const m of p.metadata_props ?? []) graph.metadata.set(m.key, m.value);
  for (const init of p.graph.initializer ?? []) {
    const t = tensorFromProto(init);
    graph.initializer(init.name, t, t.dtype === 'float32' || t.dtype === 'float64');
  }
  for (const input of p.graph.input ?? []) {
    if (graph.initializers.has(input.name)) continue;
    const tt = input.type?.tensor_type;
    if (!tt) throw new Error(`graph input '${input.name}' is not a tensor`);
    const shape: Dim[] = (tt.shape?.dim ?? []).map((d: any, i: number) => (d.dim_value != null && d.value === 'dim_value' ? num(d.dim_value) : d.dim_param || `${input.name}_dim${i}`));
    graph.input(input.name, dtypeFromOnnx(tt.elem_type), shape);
  }
  const nodes: Node[] = (p.graph.node ?? []).map((n: any, i: number) => ({
    name: n.name || `node_${i}`,
    opType: n.op_type,
    domain: n.domain ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs: Object.fromEntries((n.attribute ?? []).map((a: any) => [a.name, attrFromProto(a)])),
  }));
  for (const node of topologicalOrder(nodes, [...graph.inputs, ...graph.initializers.keys()])) graph.addNode(node);
  for (const out of p.graph.output ?? []) {
    if (!graph.types.has(out.name)) {
      const tt = out.type?.tensor_type;
      if (tt) graph.types.set(out.name, { dtype: dtypeFromOnnx(tt.elem_type), shape: (tt.shape?.dim ?? []).map((d: any) => (d.value === 'dim_value' ? num(d.dim_value) : d.dim_param || '?')) });
    }
    graph.output(out.name);
  }
  return { graph, irVersion: num(p.ir_version), producer: p.producer_name ?? '' };
}
