// Evaluating an exported model file on a data set, and describing a model file (`minnow eval`,
// `minnow inspect`).
import { encodeModel } from '../onnx/codec.js';
import { ModelFileError, decodeOnnx, readOnnxFile } from '../onnx/model-file.js';
import type { Graph } from '../onnx/graph.js';
import { createSession, run, type Device } from '../onnx/runtime.js';
import { loadDataset, type LoadOptions } from '../data/datasets.js';
import { tokenizerFromJSON } from '../data/tokenizers/index.js';
import { ImageSource, LanguageModelSource, TextClassificationSource, iterateBatches, type BatchSource } from '../data/batching.js';
import type { Split } from '../data/split.js';
import { crossEntropy } from './losses.js';
import { META, type Preprocessing, type Task } from '../format/metadata.js';
import { tokenizerJsonOf } from '../format/tokenizer.js';

function meta(graph: Graph, key: string, file: string): string {
  const v = graph.metadata.get(key);
  if (v === undefined) throw new ModelFileError(`${file} has no '${key}' metadata: was it written by minnow train?`);
  return v;
}

export interface EvalOptions { data: string; split?: Split; device?: Device; batch?: number; dataOptions?: LoadOptions }

export async function evaluateModelFile(file: string, options: EvalOptions): Promise<Record<string, number>> {
  return evaluateGraph(readOnnxFile(file).graph, options, file);
}

/** The same as evaluateModelFile for a model in memory (e.g. each candidate of a sensitivity scan). */
export async function evaluateModel(bytes: Uint8Array, options: EvalOptions, name = 'the model'): Promise<Record<string, number>> {
  return evaluateGraph(decodeOnnx(bytes, name), options, name);
}

async function evaluateGraph(graph: Graph, options: EvalOptions, file: string): Promise<Record<string, number>> {
  const task = meta(graph, META.task, file) as Task;
  const preprocessing = JSON.parse(meta(graph, META.preprocessing, file)) as Preprocessing;
  const data = loadDataset(options.data, task, options.dataOptions);
  const split = options.split ?? 'test';
  let source: BatchSource;
  let charsPerToken = 1;
  if (data.task === 'image') {
    if (preprocessing.kind !== 'image') throw new ModelFileError(`${file} is not an image model`);
    source = new ImageSource(data.splits[split], data.shape, { mean: preprocessing.mean, std: preprocessing.std });
  } else {
    const json = tokenizerJsonOf(graph.metadata);
    if (json === undefined) throw new ModelFileError(`${file} has no '${META.tokenizer}' metadata: was it written by minnow train?`);
    const tokenizer = tokenizerFromJSON(json);
    const ctx = preprocessing.kind === 'text' ? preprocessing.max_length : 128;
    if (data.task === 'lm') {
      const tokens = Int32Array.from(tokenizer.encode(data.splits[split]));
      charsPerToken = data.splits[split].length / Math.max(1, tokens.length);
      source = new LanguageModelSource(tokens, ctx);
    } else {
      const ex = data.splits[split];
      source = new TextClassificationSource(ex.map((e) => tokenizer.encode(e.text).slice(0, ctx)), ex.map((e) => e.label), tokenizer.padId);
    }
  }
  // Append the loss (and hit count) to the model's own graph and run it once per batch.
  const logits = graph.outputs[0]!;
  graph.outputs.length = 0;
  for (const p of [...graph.params]) graph.params.delete(p);
  const labels = graph.input('labels', 'int64', task === 'lm' ? ['batch', 'seq'] : ['batch']);
  const lossSum = graph.output(crossEntropy(graph, logits, labels, { reduction: 'sum' }));
  let correct: string | undefined;
  if (task !== 'lm') {
    const predicted = graph.op1('ArgMax', [logits], { axis: -1, keepdims: 0 });
    correct = graph.output(graph.op1('ReduceSum', [graph.op1('Cast', [graph.op1('Equal', [predicted, labels])], { to: 7 })], { keepdims: 0 }));
  }
  const session = await createSession(encodeModel(graph), { device: options.device });
  let loss = 0, hits = 0, targets = 0;
  for (const batch of iterateBatches(source, { batchSize: options.batch ?? 64, seed: 0, epoch: 0, shuffle: false })) {
    const out = await run(session, batch);
    loss += Number(out[lossSum]!.data[0]);
    if (correct) hits += Number(out[correct]!.data[0]);
    targets += batch.labels!.size;
  }
  await session.release();
  if (targets === 0) throw new ModelFileError(`the ${split} split of '${options.data}' is empty`);
  const meanLoss = loss / targets;
  return task === 'lm'
    ? { loss: meanLoss, bits_per_char: meanLoss / Math.LN2 / charsPerToken, targets }
    : { accuracy: hits / targets, loss: meanLoss, targets };
}

export interface ModelSummary {
  file: string;
  size_bytes: number;
  params: number;
  inputs: { name: string; dtype: string; shape: (number | string)[] }[];
  outputs: { name: string; dtype?: string; shape?: (number | string)[] }[];
  opset: Record<string, number>;
  ops: Record<string, number>;
  metadata: Record<string, unknown>;
}

export function inspectModelFile(file: string): ModelSummary {
  const { bytes, graph } = readOnnxFile(file);
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) {
    const key = n.domain ? `${n.domain}.${n.opType}` : n.opType;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  let params = 0;
  for (const t of graph.initializers.values()) params += t.size;
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of graph.metadata) {
    if (k === META.tokenizer || k === META.tokenizerGz) {
      const doc = JSON.parse(tokenizerJsonOf(new Map([[k, v]]))!) as { model: { type: string; vocab: object } };
      metadata[k] = { type: doc.model.type, vocab_size: Object.keys(doc.model.vocab).length, bytes: v.length };
      continue;
    }
    try { metadata[k] = JSON.parse(v); } catch { metadata[k] = v; }
  }
  return {
    file, size_bytes: bytes.length, params,
    inputs: graph.inputs.map((name) => ({ name, dtype: graph.dtype(name), shape: graph.shape(name) })),
    outputs: graph.outputs.map((name) => ({ name, dtype: graph.types.get(name)?.dtype, shape: graph.types.get(name)?.shape })),
    opset: Object.fromEntries(graph.opsets),
    ops: Object.fromEntries(Object.entries(ops).sort((a, b) => b[1] - a[1])),
    metadata,
  };
}
