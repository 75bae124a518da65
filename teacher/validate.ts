// Checks an infer request's tensors against the model before they reach the batcher. Every
// rejection names the input and what was wrong.
import { Tensor } from '../src/onnx/tensor.js';
import type { WireTensor } from '../src/protocol/messages.js';
import { fillInputs, type TeacherModel } from './model.js';
import { INPUT } from '../src/format/names.js';
import type { BatchRequest } from './batcher.js';

export class RequestError extends Error {
  constructor(readonly code: 'bad_input' | 'batch_too_large', message: string) { super(message); }
}

const ARRAY_OF: Record<string, new (...args: never[]) => ArrayBufferView> = { int64: BigInt64Array, int32: Int32Array, float32: Float32Array };

/** Room in a request frame for what is not tensor data: the envelope, input names, dims, an id. */
const ENVELOPE_BYTES = 4096;

/**
 * The largest frame a valid request to this model can be: max_batch rows of every input at its
 * longest (8 bytes a value, int64's), or undefined where a dimension has no bound. A larger frame is
 * refused before it is decoded, so that no client makes the server decode megabytes to say no.
 */
export function largestRequest(model: TeacherModel, maxBatch: number): number | undefined {
  let bytes = ENVELOPE_BYTES;
  for (const spec of model.inputs) {
    let perRow = 8;
    for (const d of spec.shape.slice(1)) {
      const size = typeof d === 'number' ? d : model.maxSeq;
      if (size === undefined) return undefined;
      perRow *= size;
    }
    bytes += maxBatch * perRow;
  }
  return bytes;
}

export function validateInputs(model: TeacherModel, inputs: Record<string, WireTensor>, maxBatch: number): BatchRequest {
  for (const name of Object.keys(inputs)) {
    if (!model.inputs.some((s) => s.name === name)) throw new RequestError('bad_input', `unknown input '${name}'; the model takes ${model.inputs.map((s) => s.name).join(', ')}`);
  }
  const out: Record<string, Tensor> = {};
  let rows: number | undefined, seq: number | undefined;
  for (const spec of model.inputs) {
    const t = inputs[spec.name];
    if (!t && spec.name === INPUT.mask) continue; // filled with ones below
    if (!t) throw new RequestError('bad_input', `missing input '${spec.name}'`);
    if (!(t.data instanceof ARRAY_OF[t.dtype]!)) throw new RequestError('bad_input', `input '${spec.name}': dtype ${t.dtype} needs a ${ARRAY_OF[t.dtype]!.name}`);
    const wantInt = spec.dtype === 'int64';
    if (wantInt ? t.dtype === 'float32' : t.dtype !== 'float32') throw new RequestError('bad_input', `input '${spec.name}' must be ${wantInt ? 'int64 or int32' : 'float32'}, got ${t.dtype}`);
    if (t.dims.length !== spec.shape.length) throw new RequestError('bad_input', `input '${spec.name}' must have rank ${spec.shape.length} ([${spec.shape}]), got [${t.dims}]`);
    spec.shape.forEach((d, i) => {
      if (typeof d === 'number' && i > 0 && t.dims[i] !== d) throw new RequestError('bad_input', `input '${spec.name}' dim ${i} must be ${d}, got ${t.dims[i]}`);
    });
    const n = t.dims.reduce((a, b) => a * b, 1);
    const length = (t.data as unknown as { length: number }).length;
    if (length !== n) throw new RequestError('bad_input', `input '${spec.name}' has ${length} values but dims [${t.dims}] need ${n}`);
    if (t.dims[0]! < 1) throw new RequestError('bad_input', `input '${spec.name}' has no rows`);
    if (rows !== undefined && t.dims[0] !== rows) throw new RequestError('bad_input', `inputs disagree on the batch size (${rows} vs ${t.dims[0]})`);
    rows = t.dims[0]!;
    if (wantInt && t.dims.length === 2) {
      if (seq !== undefined && t.dims[1] !== seq) throw new RequestError('bad_input', `inputs disagree on the sequence length (${seq} vs ${t.dims[1]})`);
      seq = t.dims[1]!;
      if (seq < 1) throw new RequestError('bad_input', `input '${spec.name}' has an empty sequence`);
      if (model.maxSeq && seq > model.maxSeq) throw new RequestError('bad_input', `sequence length ${seq} exceeds the model's ${model.maxSeq}`);
    }
    let tensor: Tensor;
    if (wantInt) {
      const data = t.data instanceof BigInt64Array ? new BigInt64Array(t.data) : BigInt64Array.from(t.data as Int32Array, (v) => BigInt(v));
      const limit = spec.name === INPUT.ids ? model.tokenLimit : spec.name === INPUT.mask ? 2 : undefined;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < 0n || (limit !== undefined && v >= BigInt(limit))) {
          throw new RequestError('bad_input', `input '${spec.name}'[${i}] = ${v} is out of range [0, ${limit ?? 'inf'})`);
        }
      }
      tensor = new Tensor('int64', [...t.dims], data);
    } else {
      const data = new Float32Array(t.data as Float32Array);
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) throw new RequestError('bad_input', `input '${spec.name}'[${i}] is not finite`);
      tensor = new Tensor('float32', [...t.dims], data);
    }
    out[spec.name] = tensor;
  }
  if (rows! > maxBatch) throw new RequestError('batch_too_large', `${rows} rows exceed --max-batch ${maxBatch}; split the request`);
  if (seq !== undefined) fillInputs(model, out, rows!, seq);
  return { inputs: out, rows: rows!, seq };
}
