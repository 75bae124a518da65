// The compression table: for each student (distilled from its teacher in this run), fp32 / pruned
// 50% (magnitude, during distillation) / structured-pruned (compress --structured, then distill
// --init-from to recover) / int8 / int4 (block 32) / int4 after one epoch of quantization-aware
// distillation from the fp32 student / pruned + int4 / structured + int4, with file
// bytes, parameters, the quality metric, and p50 latency at batch 1 in onnxruntime-node and
// onnxruntime-web (wasm), both with one thread. Latencies are also given as a ratio to the fp32 row
// measured in the same run, which is the number to compare across machines.
//   npx tsx bench/compress.ts --spam-teacher runs/teacher-spam/model.onnx \
//     --fmnist-teacher runs/teacher-fmnist/model.onnx --moby-teacher runs/teacher-moby/model.onnx \
//     [--only spam,fmnist,moby] [--runs 200] [--out bench/out/compress]
// Teachers come from `minnow teacher train` (commands in bench/RESULTS.md).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { serveTeacher } from '../teacher/server.js';
import { distill } from '../student/distill.js';
import { compressModel, type CompressOptions } from '../src/compress/compress.js';
import { parseStructuredTargets } from '../src/compress/prune/structured.js';
import { prunableWeights } from '../src/compress/prune/magnitude.js';
import { evaluateModelFile } from '../src/train/evaluate.js';
import { decodeModel, encodeModel } from '../src/onnx/codec.js';
import { fakeQuantPlan } from '../src/compress/quantize/schemes.js';
import { inspectModelFile } from '../src/train/evaluate.js';
import { Tensor } from '../src/onnx/tensor.js';
import { META, type Preprocessing } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { ImageSource, iterateBatches } from '../src/data/batching.js';

const { values } = parseArgs({ options: {
  'spam-teacher': { type: 'string' }, 'fmnist-teacher': { type: 'string' }, 'moby-teacher': { type: 'string' },
  only: { type: 'string', default: 'spam,fmnist,moby' }, runs: { type: 'string', default: '200' },
  out: { type: 'string', default: 'bench/out/compress' },
  // A smoke run: at most N examples per split (the table's figures use the whole data).
  limit: { type: 'string' },
} });
const dataOptions = values.limit ? { limit: Number(values.limit) } : {};
const runs = Number(values.runs);
ortWeb.env.wasm.numThreads = 1;

interface Task {
  name: string; data: string; teacher?: string; student: string; epochs: number; lr: number;
  structured: string; split: 'test' | 'validation'; metric: 'accuracy' | 'val_loss';
}
const TASKS: Task[] = [
  { name: 'spam', data: 'spam', teacher: values['spam-teacher'], student: 'student-tiny', epochs: 3, lr: 1e-3, structured: 'dim=40,heads=1,ffn=128', split: 'test', metric: 'accuracy' },
  { name: 'fmnist', data: 'fashion-mnist', teacher: values['fmnist-teacher'], student: 'student-image', epochs: 4, lr: 1e-3, structured: 'channels=8-12,hidden=24', split: 'test', metric: 'accuracy' },
  { name: 'moby', data: 'moby-dick', teacher: values['moby-teacher'], student: 'student-lm-tiny', epochs: 8, lr: 2e-3, structured: 'heads=1,ffn=128', split: 'validation', metric: 'val_loss' },
];

/** One batch-1 input of the task's real data, in the model's own preprocessing. */
function latencyFeeds(file: string, data: string): Record<string, Tensor> {
  const { graph } = decodeModel(readFileSync(file));
  const task = graph.metadata.get(META.task)!;
  const pre = JSON.parse(graph.metadata.get(META.preprocessing)!) as Preprocessing;
  const ds = loadDataset(data, task as never, { limit: 200 });
  if (ds.task === 'image') {
    const batch = iterateBatches(new ImageSource(ds.splits.test, ds.shape, ds.normalize), { batchSize: 1, seed: 0, epoch: 0, shuffle: false }).next().value!;
    return { pixels: batch.pixels! };
  }
  if (pre.kind !== 'text') throw new Error('unreachable');
  const tok = tokenizerFromJSON(tokenizerJsonOf(graph.metadata)!);
  const text = ds.task === 'lm' ? ds.splits.validation : ds.splits.test.find((e) => e.text.length > 600)!.text;
  const ids = tok.encode(text, pre.max_length);
  const feeds: Record<string, Tensor> = { input_ids: new Tensor('int64', [1, ids.length], BigInt64Array.from(ids, BigInt)) };
  if (ds.task === 'classify') feeds.attention_mask = new Tensor('int64', [1, ids.length], new BigInt64Array(ids.length).fill(1n));
  return feeds;
}

/** p50 of `runs` timed session.run calls after a warm-up, in ms. */
async function p50(session: { run(feeds: never): Promise<unknown> }, feeds: Record<string, unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await session.run(feeds as never);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) { const t = performance.now(); await session.run(feeds as never); ms.push(performance.now() - t); }
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!;
}

/** The int4 file's source model with each weight replaced by its fake-quantized value (TypeScript). */
function int4Reference(source: string): Uint8Array {
  const { graph } = decodeModel(readFileSync(source));
  for (const [name, quantize] of fakeQuantPlan(graph, { quantize: 'int4', blockSize: 32 })) {
    const t = graph.initializers.get(name)!;
    const v = new Tensor('float32', t.dims, quantize(t));
    graph.initializers.set(name, v);
    graph.constants.set(name, v);
  }
  return encodeModel(graph);
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

async function latency(file: string, feeds: Record<string, Tensor>, reference?: Uint8Array): Promise<{ node: number; web: number; node_vs_reference?: number; web_vs_reference?: number }> {
  const bytes = readFileSync(file);
  const node = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const asNode = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortNode.Tensor(t.dtype as 'int64', t.data as never, t.dims)]));
  const asWeb = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ortWeb.Tensor(t.dtype as 'int64', t.data as never, t.dims)]));
  const result: Awaited<ReturnType<typeof latency>> = { node: await p50(node, asNode), web: await p50(web, asWeb) };
  if (reference) {
    const ref = await ortNode.InferenceSession.create(reference, { intraOpNumThreads: 1 });
    const expected = (await ref.run(asNode as never)).logits!.data as Float32Array;
    result.node_vs_reference = maxDiff((await node.run(asNode as never)).logits!.data as Float32Array, expected);
    result.web_vs_reference = maxDiff((await web.run(asWeb as never)).logits!.data as Float32Array, expected);
    await ref.release();
  }
  await node.release(); await web.release();
  return result;
}

/** Parameters of the trained model a file came from (quantization keeps the count), and how many are nonzero. */
function paramsOf(runDir: string): { params: number; nonzero: number } {
  const report = JSON.parse(readFileSync(path.join(runDir, 'report.json'), 'utf8')) as { params: number };
  const { graph } = decodeModel(readFileSync(path.join(runDir, 'model.onnx')));
  let zeros = 0;
  for (const name of prunableWeights(graph, graph.params)) zeros += (graph.initializers.get(name)!.data as Float32Array).reduce((a, v) => a + Number(v === 0), 0);
  return { params: report.params, nonzero: report.params - zeros };
}

const outDir = path.resolve(values.out!);
mkdirSync(outDir, { recursive: true });
const rows: Record<string, unknown>[] = [];
for (const task of TASKS.filter((t) => values.only!.split(',').includes(t.name))) {
  if (!task.teacher) throw new Error(`--${task.name}-teacher is needed (or leave ${task.name} out of --only)`);
  const dir = path.join(outDir, task.name);
  mkdirSync(dir, { recursive: true });
  const server = await serveTeacher({ model: task.teacher, port: 0, logger: false });
  const common = { teachers: [server.url], data: task.data, epochs: task.epochs, lr: task.lr, seed: 0, cacheDir: path.join(outDir, 'cache'), checkpointEvery: 100_000, dataOptions };
  const log = (m: string) => console.error(`[${task.name}] ${m}`);
  log('distilling the fp32 student');
  await distill({ ...common, student: task.student, out: path.join(dir, 'fp32') });
  log('distilling with magnitude pruning to 50%');
  await distill({ ...common, student: task.student, out: path.join(dir, 'pruned50'), prune: { sparsity: 0.5 } });
  const fp32File = path.join(dir, 'fp32', 'model.onnx');
  const write = (name: string, from: string, options: CompressOptions) => {
    const file = path.join(dir, `${name}.onnx`);
    writeFileSync(file, compressModel(readFileSync(from), options).bytes);
    return file;
  };
  const shrunk = write('structured-init', fp32File, { structured: parseStructuredTargets(task.structured) });
  log(`recovering the structured-pruned student (${task.structured}) by distillation`);
  await distill({ ...common, initFrom: shrunk, out: path.join(dir, 'structured') });
  log('one epoch of quantization-aware distillation (int4) from the fp32 student');
  await distill({ ...common, epochs: 1, initFrom: fp32File, qat: { quantize: 'int4', blockSize: 32 }, out: path.join(dir, 'qat') });
  await server.close();
  const run = (name: string) => path.join(dir, name);
  // [name, file, run it came from, for int4 files the float model it was quantized from]
  const variants: [string, string, string, string?][] = [
    ['fp32', fp32File, run('fp32')],
    ['pruned 50%', path.join(run('pruned50'), 'model.onnx'), run('pruned50')],
    [`structured (${task.structured})`, path.join(run('structured'), 'model.onnx'), run('structured')],
    ['int8', write('int8', fp32File, { quantize: 'int8' }), run('fp32')],
    ['int4 (bs 32)', write('int4', fp32File, { quantize: 'int4', blockSize: 32 }), run('fp32'), fp32File],
    ['int4, QAT 1 epoch', write('qat-int4', path.join(run('qat'), 'model.onnx'), { quantize: 'int4', blockSize: 32 }), run('qat'), path.join(run('qat'), 'model.onnx')],
    ['pruned 50% + int4', write('pruned50-int4', path.join(run('pruned50'), 'model.onnx'), { quantize: 'int4', blockSize: 32 }), run('pruned50'), path.join(run('pruned50'), 'model.onnx')],
    ['structured + int4', write('structured-int4', path.join(run('structured'), 'model.onnx'), { quantize: 'int4', blockSize: 32 }), run('structured'), path.join(run('structured'), 'model.onnx')],
  ];
  const feeds = latencyFeeds(fp32File, task.data);
  let base: { bytes: number; metric: number; node: number; web: number } | undefined;
  for (const [variant, file, source, floatSource] of variants) {
    const bytes = readFileSync(file).length;
    const ops = Object.keys(inspectModelFile(file).ops).length; // inspect must read every file
    const ev = await evaluateModelFile(file, { data: task.data, split: task.split, dataOptions });
    const metric = task.metric === 'accuracy' ? ev.accuracy! : ev.loss!;
    const lat = await latency(file, feeds, floatSource ? int4Reference(floatSource) : undefined);
    base ??= { bytes, metric, ...lat };
    const row = {
      student: task.name, variant, file: path.relative(process.cwd(), file), bytes, size_ratio: bytes / base.bytes, ...paramsOf(source),
      metric: task.metric === 'accuracy' ? `test accuracy` : 'validation loss (nats/char)', value: metric,
      delta: task.metric === 'accuracy' ? (metric - base.metric) * 100 : (metric - base.metric) / base.metric * 100,
      node_p50_ms: lat.node, web_p50_ms: lat.web, node_vs_fp32: lat.node / base.node, web_vs_fp32: lat.web / base.web,
      inspect_op_kinds: ops, max_abs_diff_vs_ts_reference: floatSource ? { node: lat.node_vs_reference, web: lat.web_vs_reference } : undefined,
    };
    rows.push(row);
    log(JSON.stringify(row));
  }
}

const date = new Date().toISOString().slice(0, 10);
writeFileSync(path.join(outDir, `compress-${date}.json`), JSON.stringify(rows, null, 2) + '\n');
const fmt = (r: Record<string, unknown>) => {
  const v = r.value as number, accuracy = r.metric === 'test accuracy';
  const delta = accuracy ? `${(r.delta as number) >= 0 ? '+' : ''}${(r.delta as number).toFixed(2)} pt` : `${(r.delta as number) >= 0 ? '+' : ''}${(r.delta as number).toFixed(1)}%`;
  const params = (r.variant as string).startsWith('pruned') ? `${r.params} (${r.nonzero} nonzero)` : `${r.params}`;
  const parity = r.max_abs_diff_vs_ts_reference as { node: number; web: number } | undefined;
  return `| ${r.student} | ${r.variant} | ${r.bytes} | ${(r.size_ratio as number).toFixed(3)} | ${params} | ${accuracy ? v.toFixed(4) : v.toFixed(3)} (${delta}) | ${(r.node_p50_ms as number).toFixed(3)} (${(r.node_vs_fp32 as number).toFixed(2)}x) | ${(r.web_p50_ms as number).toFixed(3)} (${(r.web_vs_fp32 as number).toFixed(2)}x) | ${parity ? `${parity.node.toExponential(0)} / ${parity.web.toExponential(0)}` : ''} |`;
};
console.log('| student | variant | bytes | vs fp32 | parameters | accuracy / val loss (vs fp32) | node p50 ms (vs fp32) | web wasm p50 ms (vs fp32) | int4 vs TS reference, max abs (node / web) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(fmt(r));
