// Evaluating an exported model file on a data set, and describing a model file (`minnow eval`,
// `minnow inspect`).
import { decodeModel, encodeModel } from '../onnx/codec.js';
import { ModelFileError, decodeOnnx, readOnnxFile, type ReadOptions } from '../onnx/model-file.js';
import type { Graph } from '../onnx/graph.js';
import { createSession, run, type Device } from '../onnx/runtime.js';
import { loadDataset, type Dataset, type LoadOptions } from '../data/datasets.js';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizers/index.js';
import { iterateBatches } from '../data/batching.js';
import type { Split } from '../data/split.js';
import { readerOf, splitSource, type SplitSource } from './sources.js';
import { crossEntropy } from './losses.js';
import { META, type Preprocessing, type Task } from '../format/metadata.js';
import { tokenizerJsonOf } from '../format/tokenizer.js';
import { FINETUNE_META, type FinetuneSpec } from '../format/finetune.js';

function meta(graph: Graph, key: string, file: string): string {
  const v = graph.metadata.get(key);
  if (v === undefined) throw new ModelFileError(`${file} has no '${key}' metadata: was it written by minnow train?`);
  return v;
}

export interface EvalOptions { data: string; split?: Split; device?: Device; batch?: number; dataOptions?: LoadOptions; verify?: boolean }

export async function evaluateModelFile(file: string, options: EvalOptions): Promise<Record<string, number>> {
  return evaluateGraph(readOnnxFile(file, { verify: options.verify }).graph, options, file);
}

/** The same as evaluateModelFile for a model in memory (e.g. each candidate of a sensitivity scan). */
export async function evaluateModel(bytes: Uint8Array, options: EvalOptions, name = 'the model'): Promise<Record<string, number>> {
  return evaluateGraph(decodeOnnx(bytes, name), options, name);
}

/** The split's batches as the model file says it reads them. */
function sourceFor(graph: Graph, data: Dataset, split: Split, file: string): SplitSource {
  const preprocessing = JSON.parse(meta(graph, META.preprocessing, file)) as Preprocessing;
  if (data.task === 'image' && preprocessing.kind !== 'image') throw new ModelFileError(`${file} is not an image model`);
  if (data.task !== 'image' && preprocessing.kind === 'image') throw new ModelFileError(`${file} is an image model, and '${data.name}' is text`);
  let tokenizer: Tokenizer | undefined;
  if (data.task !== 'image') {
    const json = tokenizerJsonOf(graph.metadata);
    if (json === undefined) throw new ModelFileError(`${file} has no '${META.tokenizer}' metadata: was it written by minnow train?`);
    tokenizer = tokenizerFromJSON(json);
  }
  return splitSource(data, split, readerOf(preprocessing, tokenizer));
}

async function evaluateGraph(graph: Graph, options: EvalOptions, file: string): Promise<Record<string, number>> {
  const task = meta(graph, META.task, file) as Task;
  const data = loadDataset(options.data, task, options.dataOptions);
  const split = options.split ?? 'test';
  const { source, charsPerToken = 1 } = sourceFor(graph, data, split, file);
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

export function inspectModelFile(file: string, options: ReadOptions = {}): ModelSummary {
  const { bytes, graph } = readOnnxFile(file, options);
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
    if (k === FINETUNE_META.graph) {
      // The training step is a whole ONNX model in base64: its size and node count say enough.
      metadata[k] = { bytes: v.length, nodes: decodeModel(Buffer.from(v, 'base64')).graph.nodes.length };
      continue;
    }
    if (k === FINETUNE_META.spec) {
      const spec = JSON.parse(v) as FinetuneSpec;
      metadata[k] = { part: spec.part, features: spec.features, params: spec.params.length, state: spec.state.length, optimizer: spec.optimizer };
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
