// minnow/micro's latency against onnxruntime-web (wasm) and onnxruntime-node, batch 1, one thread,
// in one run: the spam, Fashion-MNIST and Moby Dick students (their presets, one training step each:
// the weights do not change the cost), fp32 and compressed. Classifiers: p50 of classify(); the LM:
// milliseconds per generated token with the KV cache. Then micro in Hermes (hermes-engine-cli 0.12,
// lowered as React Native does) and QuickJS (quickjs-emscripten), timed inside them
// (bench/engines/micro-app.ts), and micro's memory per student (model.info.memory).
//   npx tsx bench/micro.ts [--runs 200] [--engine-samples 5]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { train } from '../src/train/job.js';
import { compressModel } from '../src/compress/compress.js';
import { loadDataset } from '../src/data/datasets.js';
import { loadModel, type Model, type OrtLike } from '../runtime/index.js';
import { microOrt } from '../runtime/micro/index.js';
import { STUDENT_PRESETS } from '../student/distill.js';
import { bundleApp, runInHermes, runInQuickJS } from '../examples/hermes/engines.js';
import { median, timeIt } from './timing.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, 'engine-samples': { type: 'string', default: '5' } } });
const runs = Number(values.runs);
ortWeb.env.wasm.numThreads = 1;
const EXECUTORS: [string, OrtLike, Record<string, unknown>][] = [
  ['micro', microOrt, {}],
  ['onnxruntime-web (wasm)', ortWeb as unknown as OrtLike, {}],
  ['onnxruntime-node', ortNode as unknown as OrtLike, { threads: 1 }],
];

async function student(task: 'classify' | 'image' | 'lm', data: string): Promise<string> {
  const out = mkdtempSync(path.join(tmpdir(), 'minnow-bench-micro-'));
  await train({ task, data, model: STUDENT_PRESETS[task], maxSteps: 1, batch: 8, out, dataOptions: { limit: task === 'lm' ? 50_000 : 256 } });
  return out;
}

function compressed(file: string, quantize: 'int8' | 'int4'): string {
  const out = file.replace(/\.onnx$/, `.${quantize}.onnx`);
  writeFileSync(out, compressModel(readFileSync(file), { quantize }).bytes);
  return out;
}

const kb = (bytes: number) => Math.round(bytes / 1024);

async function perToken(model: Model): Promise<number> {
  const stamps: number[] = [];
  for await (const _ of model.generate('Call me Ishmael. Some years ago', { maxTokens: 33 })) stamps.push(performance.now());
  return (stamps.at(-1)! - stamps[0]!) / (stamps.length - 1);
}

const spamData = loadDataset('spam', 'classify', { limit: 64 });
const mail = spamData.task === 'classify' ? spamData.splits.test.find((e) => e.text.length > 1200)!.text : '';
const image = loadDataset('fashion-mnist', 'image', { limit: 8 });
const pixels = image.task === 'image' ? image.splits.test[0]!.pixels : [];
const [spamDir, mnistDir, mobyDir] = [await student('classify', 'spam'), await student('image', 'fashion-mnist'), await student('lm', 'moby-dick')];
const spam = path.join(spamDir, 'model.onnx'), mnist = path.join(mnistDir, 'model.onnx');
// [row, file, what is timed, the engine app's name for it]
const cases: [string, string, (m: Model) => Promise<unknown>, string][] = [
  ['spam student-tiny fp32, classify p50 ms', spam, (m) => m.classify(mail), 'spam'],
  ['spam int8', compressed(spam, 'int8'), (m) => m.classify(mail), 'spam int8'],
  ['spam int4', compressed(spam, 'int4'), (m) => m.classify(mail), 'spam int4'],
  ['fashion-mnist student-image fp32, classify p50 ms', mnist, (m) => m.classify(pixels), 'mnist'],
  ['fashion-mnist int8', compressed(mnist, 'int8'), (m) => m.classify(pixels), 'mnist int8'],
];
const results: Record<string, Record<string, number>> = {};
const memory: Record<string, { weights_kb: number; peak_activations_kb: number }> = {};
for (const [name, file, f] of cases) {
  results[name] = {};
  for (const [exec, ort, extra] of EXECUTORS) {
    const model = await loadModel(file, { ort, truncation: 'right', ...extra });
    results[name]![exec] = Number((await timeIt(() => f(model), runs)).toFixed(3));
    if (model.info.memory) memory[name] = { weights_kb: kb(model.info.memory.weights), peak_activations_kb: kb(model.info.memory.peakActivations) };
    await model.dispose();
  }
}
const lm = 'moby-dick student-lm-tiny decoder, ms per token (32 tokens)';
results[lm] = {};
for (const [exec, ort, extra] of EXECUTORS) {
  const model = await loadModel(path.join(mobyDir, 'decoder.onnx'), { ort, ...extra });
  await perToken(model);
  const times = [];
  for (let i = 0; i < 3; i++) times.push(await perToken(model));
  results[lm]![exec] = Number(median(times).toFixed(3));
  if (model.info.memory) memory[lm] = { weights_kb: kb(model.info.memory.weights), peak_activations_kb: kb(model.info.memory.peakActivations) };
  await model.dispose();
}

// The same students in Hermes and QuickJS, timed by the engine itself.
const modules: Record<string, Uint8Array | string> = { 'model:moby decoder': readFileSync(path.join(mobyDir, 'decoder.onnx')) };
for (const [, file, , app] of cases) modules[`model:${app}`] = readFileSync(file);
modules.inputs = JSON.stringify({ mail, pixels: Array.from(pixels), prompt: 'Call me Ishmael. Some years ago', samples: Number(values['engine-samples']) });
const entry = path.join(path.dirname(new URL(import.meta.url).pathname), 'engines/micro-app.ts');
for (const [engine, run] of [['Hermes', runInHermes], ['QuickJS', runInQuickJS]] as const) {
  const printed = await run(await bundleApp(entry, modules, engine === 'Hermes' ? 'hermes' : 'quickjs'));
  const got = JSON.parse(printed.trim().split('\n').pop()!) as Record<string, number> & { error?: string };
  if (got.error) throw new Error(`${engine}: ${got.error}`);
  for (const [name, , , app] of cases) results[name]![`micro in ${engine}`] = Number(got[app]!.toFixed(2));
  results[lm]![`micro in ${engine}`] = Number(got['moby decoder']!.toFixed(2));
}
for (const row of Object.values(results)) row['micro / wasm'] = Number((row.micro! / row['onnxruntime-web (wasm)']!).toFixed(2));
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), runs, threads: 1, batch: 1, results, micro_memory: memory }, null, 2));
