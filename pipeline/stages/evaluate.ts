// Stage 5: every model file through the runtime SDK (minnow/runtime), as an app would run it: its
// test accuracy (validation loss for language models), bytes, parameters, and p50 latency at batch 1
// in onnxruntime-node and in onnxruntime-web (wasm), one thread each.
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadModel, type Model, type OrtLike } from '../../runtime/index.js';
import { loadDataset, type Dataset } from '../../src/data/datasets.js';
import { tokenizerFromJSON } from '../../src/data/tokenizers/index.js';
import { INPUT } from '../../src/format/names.js';
import { tokenizerJsonOf } from '../../src/format/tokenizer.js';
import { preprocessingOf } from '../../src/format/metadata.js';
import type { Context } from '../context.js';
import { digestOf, fileDigest, step, type StepRun } from '../steps.js';

export interface ModelEntry {
  name: string;
  role: 'teacher' | 'student' | 'twin' | 'compressed';
  file: string;
  params: number;
}

export interface Measured extends ModelEntry {
  bytes: number;
  sha256: string;
  /** Test accuracy, or validation loss (nats per token) for language models. */
  metric: number;
  metricName: 'accuracy' | 'val_loss';
  p50NodeMs: number;
  p50WebMs: number;
}

ortWeb.env.wasm.numThreads = 1;
const nodeOrt = ortNode as unknown as OrtLike;
const webOrt = ortWeb as unknown as OrtLike;

/** The median of `runs` timed calls after 5 warm-up calls. */
async function p50(call: () => Promise<unknown>, runs: number): Promise<number> {
  for (let i = 0; i < 5; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

/** Test accuracy of a classifier, through model.classify. */
async function accuracy(model: Model, data: Exclude<Dataset, { task: 'lm' }>): Promise<number> {
  let hits = 0;
  if (data.task === 'image') {
    for (const e of data.splits.test) {
      const [top] = await model.classify(Array.from(e.pixels, (v) => v * 255));
      hits += Number(top!.label === data.labels[e.label]);
    }
  } else {
    const test = data.splits.test;
    for (let i = 0; i < test.length; i += 32) {
      const rows = await model.classify(test.slice(i, i + 32).map((e) => e.text || ' '));
      rows.forEach((row, j) => { hits += Number(row[0]!.label === data.labels[test[i + j]!.label]); });
    }
  }
  return hits / data.splits.test.length;
}

/** The max_length of a text model (its context). */
function contextOf(model: Model): number {
  const pre = preprocessingOf(model.info.metadata);
  return pre?.kind === 'text' ? pre.max_length : 0;
}

/** Mean next-token cross-entropy over the validation split's windows (as training cuts them), through model.run. */
async function validationLoss(model: Model, text: string): Promise<number> {
  const tokens = tokenizerFromJSON(tokenizerJsonOf(model.info.metadata)!).encode(text);
  const ctx = contextOf(model);
  let loss = 0, count = 0;
  for (let start = 0; start + ctx < tokens.length; start += ctx) {
    const ids = new ortNode.Tensor('int64', BigInt64Array.from(tokens.slice(start, start + ctx), BigInt), [1, ctx]);
    const logits = Object.values(await model.run({ [INPUT.ids]: ids }))[0]!.data as Float32Array;
    const vocab = logits.length / ctx;
    for (let t = 0; t < ctx; t++) {
      const row = logits.subarray(t * vocab, (t + 1) * vocab);
      const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
      loss += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[tokens[start + t + 1]!]!;
      count++;
    }
  }
  return loss / Math.max(1, count);
}

/** One call of the model at batch 1, as an app would make it (tensors of the app's own `ort`). */
function oneCall(model: Model, data: Dataset, ort: OrtLike): () => Promise<unknown> {
  if (data.task === 'image') { const px = Array.from(data.splits.test[0]!.pixels, (v) => v * 255); return () => model.classify(px); }
  if (data.task === 'classify') { const text = data.splits.test[0]!.text; return () => model.classify(text); }
  const ids = BigInt64Array.from({ length: Math.min(64, contextOf(model)) }, (_, i) => BigInt(i % 2));
  return () => model.run({ [INPUT.ids]: new ort.Tensor('int64', ids, [1, ids.length]) });
}

/** `use` with the model loaded on `ort`, released afterwards. */
async function withModel<T>(bytes: Uint8Array, ort: OrtLike, threads: number | undefined, use: (model: Model) => Promise<T>): Promise<T> {
  const model = await loadModel(bytes, { ort, threads, truncation: 'right' });
  try { return await use(model); } finally { await model.dispose(); }
}

async function measure(ctx: Context, entry: ModelEntry & { sha256: string }, data: Dataset): Promise<Measured> {
  const bytes = new Uint8Array(readFileSync(entry.file));
  const runs = ctx.recipe.latencyRuns;
  const node = await withModel(bytes, nodeOrt, 1, async (model) => ({
    metric: data.task === 'lm' ? await validationLoss(model, data.splits.validation) : await accuracy(model, data),
    ms: await p50(oneCall(model, data, nodeOrt), runs),
  }));
  // onnxruntime-web takes its threads from ort.env (one, set above).
  const webMs = await withModel(bytes, webOrt, undefined, (model) => p50(oneCall(model, data, webOrt), runs));
  return {
    ...entry, bytes: bytes.length, metric: node.metric,
    metricName: data.task === 'lm' ? 'val_loss' : 'accuracy', p50NodeMs: node.ms, p50WebMs: webMs,
  };
}

export async function evaluateStage(ctx: Context, entries: ModelEntry[]): Promise<StepRun<Measured[]>> {
  const models = entries.map((e) => ({ ...e, sha256: fileDigest(e.file) }));
  const inputs = { stage: 'evaluate', where: ctx.where, models, data: ctx.dataDigest, dataOptions: ctx.dataOptions, runs: ctx.recipe.latencyRuns };
  return step(ctx.dir('evaluate'), { digest: digestOf(inputs) }, async () => {
    const data = loadDataset(ctx.options.data, ctx.task, ctx.dataOptions);
    const measured: Measured[] = [];
    for (const [i, entry] of models.entries()) {
      ctx.emit({ type: 'progress', stage: 'evaluate', done: i, total: entries.length, what: entry.name });
      measured.push(await measure(ctx, entry, data));
      ctx.checkStop();
    }
    ctx.emit({ type: 'progress', stage: 'evaluate', done: entries.length, total: entries.length, what: 'done' });
    return measured;
  });
}
