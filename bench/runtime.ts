// The runtime's costs, each against its baseline in the same run:
//  1. model.classify() at batch 1 against a bare session.run on pre-tokenised input (p50, p99);
//  2. generation with the KV-cache decoder against re-running the full sequence for each token,
//     per token, with a 256-token prompt.
//   npx tsx bench/runtime.ts [--runs 300] [--tokens 32]
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { buildModel, type TransformerConfig } from '../src/nn/models.js';
import { decoderFromTrained } from '../src/nn/decoder.js';
import { encodeModel } from '../src/onnx/codec.js';
import { META } from '../src/format/metadata.js';
import { graphWeightsDigest } from '../src/onnx/digest.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON, trainBpe, trainChars } from '../src/data/tokenizers/index.js';
import { loadModel } from '../runtime/index.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '300' }, tokens: { type: 'string', default: '32' } } });
const runs = Number(values.runs), newTokens = Number(values.tokens);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

// 1. classify overhead: a spam-sized classifier (2 layers, dim 128, ctx 256, BPE 4000).
const spam = loadDataset('spam', 'classify', { limit: 1000 });
if (spam.task !== 'classify') throw new Error('unreachable');
const bpe = tokenizerFromJSON(trainBpe(spam.splits.train.map((e) => e.text).join('\n'), { vocabSize: 4000, minFrequency: 2 }));
const clf = buildModel({ kind: 'transformer', layers: 2, dim: 128, heads: 4, ff: 512, ctx: 256 }, { task: 'classify', vocabSize: bpe.vocabSize, numClasses: 2 }, { seed: 1 });
for (const [k, v] of Object.entries({ [META.task]: 'classify', [META.labels]: JSON.stringify(['ham', 'spam']), [META.tokenizer]: JSON.stringify(bpe.toJSON()), [META.preprocessing]: JSON.stringify({ kind: 'text', max_length: 256, pad_id: 0, truncation: 'right' }) })) clf.graph.metadata.set(k, v);
const clfModel = await loadModel(encodeModel(clf.graph), { ort: ort as never, truncation: 'right', threads: 1 });
const text = spam.splits.test.find((e) => e.text.length > 600)!.text;
const ids = bpe.encode(text).slice(0, 256);
const feeds = {
  input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (t) => BigInt(t)), [1, ids.length]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
};
const classifyMs: number[] = [], bareMs: number[] = [];
for (let i = 0; i < 20; i++) { await clfModel.classify(text); await clfModel.run(feeds as never); }
for (let i = 0; i < runs; i++) {
  // Interleaved, so that drift on a noisy machine hits both alike.
  let t = performance.now(); await clfModel.classify(text); classifyMs.push(performance.now() - t);
  t = performance.now(); await clfModel.run(feeds as never); bareMs.push(performance.now() - t);
}

// 2. generation: a 4-layer char LM (dim 128, ctx 512), 256-token prompt.
const moby = loadDataset('moby-dick', 'lm');
if (moby.task !== 'lm') throw new Error('unreachable');
const chars = tokenizerFromJSON(trainChars(moby.splits.train));
const arch: TransformerConfig = { kind: 'transformer', layers: 4, dim: 128, heads: 4, ff: 512, ctx: 512 };
const lm = buildModel(arch, { task: 'lm', vocabSize: chars.vocabSize }, { seed: 2 });
for (const [k, v] of Object.entries({ [META.task]: 'lm', [META.tokenizer]: JSON.stringify(chars.toJSON()), [META.preprocessing]: JSON.stringify({ kind: 'text', max_length: 512, pad_id: 0, truncation: 'right' }) })) lm.graph.metadata.set(k, v);
const decoder = decoderFromTrained(lm.graph, arch, chars.vocabSize);
decoder.metadata.set(META.weightsSha256, graphWeightsDigest(decoder));
const withCache = await loadModel(encodeModel(decoder), { ort: ort as never, threads: 1 });
const without = await loadModel(encodeModel(lm.graph), { ort: ort as never, threads: 1 });
const prompt = moby.splits.validation.slice(0, 256);

async function perToken(model: typeof withCache): Promise<{ msPerToken: number; text: string }> {
  const stamps: number[] = [];
  let out = '';
  for await (const piece of model.generate(prompt, { maxTokens: newTokens })) { out += piece; stamps.push(performance.now()); }
  // From the first token on: the prompt's own pass is not per-token cost.
  return { msPerToken: (stamps.at(-1)! - stamps[0]!) / (stamps.length - 1), text: out };
}
await perToken(withCache); await perToken(without);
const cached = await perToken(withCache);
const full = await perToken(without);

console.log(JSON.stringify({
  date: new Date().toISOString().slice(0, 10),
  classify: {
    model: 'transformer classifier, 2 layers, dim 128, BPE 4000', tokens: ids.length, runs, threads: 1,
    classify_p50_ms: Number(pct(classifyMs, 0.5).toFixed(3)), classify_p99_ms: Number(pct(classifyMs, 0.99).toFixed(3)),
    bare_p50_ms: Number(pct(bareMs, 0.5).toFixed(3)), bare_p99_ms: Number(pct(bareMs, 0.99).toFixed(3)),
    overhead_p50: Number((pct(classifyMs, 0.5) / pct(bareMs, 0.5) - 1).toFixed(4)),
    overhead_p99: Number((pct(classifyMs, 0.99) / pct(bareMs, 0.99) - 1).toFixed(4)),
  },
  generate: {
    model: 'char LM, 4 layers, dim 128, ctx 512', prompt_tokens: 256, new_tokens: newTokens, threads: 1,
    kv_ms_per_token: Number(cached.msPerToken.toFixed(3)), full_rerun_ms_per_token: Number(full.msPerToken.toFixed(3)),
    speedup: Number((full.msPerToken / cached.msPerToken).toFixed(2)), same_greedy_text: cached.text === full.text,
  },
}, null, 2));
