// The teacher's model: any ONNX model with a logits output. Inputs are read from the model; task,
// labels, tokenizer and preprocessing from minnow metadata when present (or from options).
import type { InferenceSession } from 'onnxruntime-node';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { sha256 } from '../src/util/sha256.js';
import { META } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';
import { createSession, type Device } from '../src/onnx/runtime.js';
import type { Graph } from '../src/onnx/graph.js';
import type { InputSpec } from '../src/protocol/messages.js';
import { Tensor } from '../src/onnx/tensor.js';
import { INPUT, OUTPUT } from '../src/format/names.js';
import type { BatchRequest } from './batcher.js';

export interface TeacherModelOptions {
  device?: Device;
  threads?: number;
  /** Overrides for models without minnow metadata. */
  task?: string;
  labels?: string[];
  /** Output to use as logits (default: 'logits', else the first output). */
  logitsOutput?: string;
}

export interface TeacherModel {
  id: string;
  file: string;
  session: InferenceSession;
  task: string;
  inputs: InputSpec[];
  logits: string;
  /** Size of the last logits dim. */
  vocabSize: number;
  /** Token ids must be below this (text models), from the embedding table. */
  tokenLimit?: number;
  /** Longest sequence the model accepts (learned positions). */
  maxSeq?: number;
  padId: number;
  tokenizer?: string;
  labels?: string[];
  preprocessing?: string;
  /** True when logits have a sequence dim ([batch, seq, vocab]). */
  perPosition: boolean;
  params: number;
  metrics?: unknown;
}

/** The size of the table `input` indexes into through a Gather, if any. */
function gatherTableRows(graph: Graph, input: string): number | undefined {
  for (const n of graph.nodes) {
    if (n.opType === 'Gather' && n.inputs[1] === input) {
      const table = graph.initializers.get(n.inputs[0]!);
      if (table) return table.dims[0];
    }
  }
  return undefined;
}

export async function loadTeacherModel(file: string, options: TeacherModelOptions = {}): Promise<TeacherModel> {
  const { bytes, graph } = readOnnxFile(file);
  const logits = options.logitsOutput ?? (graph.outputs.includes(OUTPUT.logits) ? OUTPUT.logits : graph.outputs[0]);
  if (!logits || !graph.outputs.includes(logits)) throw new Error(`${file} has no output '${options.logitsOutput ?? OUTPUT.logits}'`);
  const logitsShape = graph.types.get(logits)?.shape ?? [];
  const vocab = logitsShape.at(-1);
  if (typeof vocab !== 'number') throw new Error(`${file}: the last dim of '${logits}' must be static (the number of classes or tokens)`);
  const task = options.task ?? graph.metadata.get(META.task) ?? (logitsShape.length === 3 ? 'lm' : 'classify');
  const labelsMeta = graph.metadata.get(META.labels);
  const preprocessing = graph.metadata.get(META.preprocessing);
  const pre = preprocessing ? (JSON.parse(preprocessing) as { max_length?: number; pad_id?: number }) : {};
  const ids = graph.inputs.find((n) => n === INPUT.ids);
  const session = await createSession(bytes, { device: options.device, threads: options.threads });
  return {
    id: sha256([bytes]),
    file, session, task, logits, vocabSize: vocab,
    inputs: graph.inputs.map((name) => ({ name, dtype: graph.dtype(name), shape: graph.shape(name) })),
    tokenLimit: ids ? gatherTableRows(graph, ids) : undefined,
    maxSeq: pre.max_length ?? (ids ? gatherTableRows(graph, positionsOf(graph)) : undefined),
    padId: pre.pad_id ?? 0,
    tokenizer: tokenizerJsonOf(graph.metadata),
    labels: options.labels ?? (labelsMeta ? (JSON.parse(labelsMeta) as string[]) : undefined),
    preprocessing,
    perPosition: logitsShape.length === 3,
    params: [...graph.initializers.values()].reduce((n, t) => n + t.size, 0),
    metrics: graph.metadata.has(META.metrics) ? JSON.parse(graph.metadata.get(META.metrics)!) : undefined,
  };
}

/** The positions tensor minnow's positional embedding gathers with (its Range output). */
function positionsOf(graph: Graph): string {
  return graph.nodes.find((n) => n.opType === 'Range')?.outputs[0] ?? '';
}

/** One small request of zeros (ids 0, mask 1) in the model's input shapes, to warm the session up. */
export function warmUpRequest(model: TeacherModel): BatchRequest {
  const inputs: Record<string, Tensor> = {};
  const seq = Math.min(model.maxSeq ?? 8, 8);
  let isText = false;
  for (const spec of model.inputs) {
    const dims = spec.shape.map((d, i) => (i === 0 ? 1 : typeof d === 'number' ? d : seq));
    const n = dims.reduce((a, b) => a * b, 1);
    if (spec.dtype === 'int64') {
      inputs[spec.name] = new Tensor('int64', dims, new BigInt64Array(n).fill(spec.name === INPUT.mask ? 1n : 0n));
      if (dims.length === 2) isText = true;
    } else {
      inputs[spec.name] = new Tensor('float32', dims, new Float32Array(n));
    }
  }
  return { inputs, rows: 1, seq: isText ? seq : undefined };
}
