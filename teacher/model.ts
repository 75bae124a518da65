// The teacher's model: any ONNX model with a logits output. Inputs are read from the model; task,
// labels, tokenizer and preprocessing from minnow metadata when present, or from options for models
// exported elsewhere (PyTorch, Optimum): their tokenizer.json is given, inputs such as
// token_type_ids and position_ids are filled by the server, and what cannot work is refused here.
import type { InferenceSession } from 'onnxruntime-node';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { sha256 } from '../src/util/sha256.js';
import { META } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
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
  /** tokenizer.json text, for text models that do not carry one (or to replace theirs). */
  tokenizer?: string;
  /** Longest sequence, for models whose position table cannot be read from the graph. */
  maxLength?: number;
  /** Check the weights against minnow.weights_sha256 (default true). */
  verify?: boolean;
}

/** Inputs of exported models that the server fills itself: clients send ids (and a mask) only. */
export const FILLED_INPUTS: readonly string[] = [INPUT.tokenTypes, INPUT.positions];

/** A model that cannot be served as asked: the CLI reports it in one line, exit 2. */
export class TeacherModelError extends Error {}

export interface TeacherModel {
  id: string;
  file: string;
  session: InferenceSession;
  task: string;
  /** What clients send (advertised in `info`). */
  inputs: InputSpec[];
  /** What the server fills for them (FILLED_INPUTS the model takes). */
  filled: InputSpec[];
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
  const { bytes, graph } = readOnnxFile(file, { verify: options.verify });
  const { logits, shape } = logitsOf(file, graph, options);
  const task = options.task ?? graph.metadata.get(META.task) ?? (shape.length === 3 ? 'lm' : 'classify');
  checkLogitsForTask(logits, shape, task);
  const preprocessing = graph.metadata.get(META.preprocessing);
  const pre = preprocessing ? (JSON.parse(preprocessing) as { max_length?: number; pad_id?: number }) : {};
  const labelsMeta = graph.metadata.get(META.labels);
  const labels = options.labels ?? (labelsMeta ? (JSON.parse(labelsMeta) as string[]) : undefined);
  if (labels && task === 'classify' && labels.length !== shape[1]) throw new TeacherModelError(`${labels.length} labels for ${shape[1]} classes: '${logits}' is [${shape.join(', ')}]`);
  const ids = graph.inputs.find((n) => n === INPUT.ids);
  const tokenLimit = ids ? gatherTableRows(graph, ids) : undefined;
  const tokenizer = options.tokenizer ?? tokenizerJsonOf(graph.metadata);
  const tokenizerPad = ids && tokenizer ? checkTokenizer(tokenizer, tokenLimit) : undefined;
  const padId = pre.pad_id ?? tokenizerPad;
  const maxSeq = options.maxLength ?? pre.max_length ?? (ids ? positionRows(graph) : undefined);
  const session = await createSession(bytes, { device: options.device, threads: options.threads });
  const specs = graph.inputs.map((name) => ({ name, dtype: graph.dtype(name), shape: graph.shape(name) }));
  const isFilled = (name: string) => FILLED_INPUTS.includes(name);
  return {
    id: sha256([bytes]),
    file, session, task, logits, vocabSize: shape.at(-1) as number,
    inputs: specs.filter((s) => !isFilled(s.name)), filled: specs.filter((s) => isFilled(s.name)),
    tokenLimit, maxSeq, padId: padId ?? 0, tokenizer, labels,
    preprocessing: preprocessing ?? (tokenizer ? JSON.stringify({ kind: 'text', max_length: maxSeq, pad_id: padId, truncation: 'right' }) : undefined),
    perPosition: shape.length === 3,
    params: [...graph.initializers.values()].reduce((n, t) => n + t.size, 0),
    metrics: graph.metadata.has(META.metrics) ? JSON.parse(graph.metadata.get(META.metrics)!) : undefined,
  };
}

/** The output used as logits, and its shape, whose last dim must be static. */
function logitsOf(file: string, graph: Graph, options: TeacherModelOptions): { logits: string; shape: (number | string)[] } {
  const logits = options.logitsOutput ?? (graph.outputs.includes(OUTPUT.logits) ? OUTPUT.logits : graph.outputs[0]);
  if (!logits || !graph.outputs.includes(logits)) throw new TeacherModelError(`${file} has no output '${options.logitsOutput ?? OUTPUT.logits}'; its outputs are ${graph.outputs.join(', ')} (choose one with --output)`);
  const shape = graph.types.get(logits)?.shape ?? [];
  if (shape.length !== 2 && shape.length !== 3) throw new TeacherModelError(`output '${logits}' is [${shape.join(', ')}]; a teacher's logits are [batch, classes] or [batch, seq, vocab] (choose another with --output)`);
  if (typeof shape.at(-1) !== 'number') throw new TeacherModelError(`${file}: the last dim of '${logits}' must be static (the number of classes or tokens), got [${shape.join(', ')}]`);
  return { logits, shape };
}

function checkLogitsForTask(logits: string, shape: (number | string)[], task: string): void {
  const want = task === 'lm' ? 3 : 2;
  if (shape.length !== want) throw new TeacherModelError(`--task ${task} needs '${logits}' as ${want === 3 ? '[batch, seq, vocab]' : '[batch, classes]'}, but it is [${shape.join(', ')}]`);
}

/** The tokenizer's padding id, once its ids are known to fit the model's embedding table. */
function checkTokenizer(json: string, tokenLimit: number | undefined): number {
  let tokenizer;
  try {
    tokenizer = tokenizerFromJSON(json);
  } catch (err) {
    throw new TeacherModelError(`--tokenizer: ${(err as Error).message}`);
  }
  if (tokenLimit !== undefined && tokenizer.vocabSize > tokenLimit) {
    throw new TeacherModelError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's embedding has ${tokenLimit} rows; give the tokenizer.json the model was trained with`);
  }
  return tokenizer.padId;
}

/**
 * The longest sequence a text model takes: the rows of the table its positions index (minnow's
 * Range, an exported model's position_ids input, or an initializer named for positions).
 */
function positionRows(graph: Graph): number | undefined {
  const byInput = [INPUT.positions, positionsOf(graph)].map((name) => gatherTableRows(graph, name)).find((n) => n !== undefined);
  if (byInput !== undefined) return byInput;
  for (const n of graph.nodes) {
    const table = n.opType === 'Gather' ? n.inputs[0]! : '';
    if (/pos(ition)?(al)?[._]?emb/i.test(table)) return graph.initializers.get(table)?.dims[0];
  }
  return undefined;
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
  if (isText) fillInputs(model, inputs, 1, seq);
  return { inputs, rows: 1, seq: isText ? seq : undefined };
}

/**
 * Adds what an exported model takes beyond ids and mask: token_type_ids of zeros (one segment) and
 * position_ids 0..seq-1; and a mask of ones where the client sent none (a language model's window).
 */
export function fillInputs(model: TeacherModel, inputs: Record<string, Tensor>, rows: number, seq: number): void {
  const n = rows * seq;
  for (const spec of model.filled) {
    const data = new BigInt64Array(n);
    if (spec.name === INPUT.positions) for (let i = 0; i < n; i++) data[i] = BigInt(i % seq);
    inputs[spec.name] = new Tensor('int64', [rows, seq], data);
  }
  if (model.inputs.some((s) => s.name === INPUT.mask) && !inputs[INPUT.mask]) inputs[INPUT.mask] = new Tensor('int64', [rows, seq], new BigInt64Array(n).fill(1n));
}
