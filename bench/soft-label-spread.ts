// How much does a text classifier teacher's soft label say beyond the hard label? For each model
// file: on its training mails (what a student is distilled on) and on held-out validation mails,
// the teacher's accuracy against the labels, the mean probability it gives the labelled class, and
// the share of soft labels at temperature T that are not near one-hot (largest probability < 0.9).
// A teacher that has memorised its training set gives near one-hot labels there, and distillation
// then teaches little more than the labels do. Each row also says how many mails are longer than
// the tokens the model reads.
//   npx tsx bench/soft-label-spread.ts --data spam --temperature 2 runs/teacher-base-pt/model.onnx [more.onnx ...]
import { parseArgs } from 'node:util';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { encodeModel } from '../src/onnx/codec.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { loadDataset } from '../src/data/datasets.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { META, type Preprocessing } from '../src/format/metadata.js';
import { tokenizerJsonOf } from '../src/format/tokenizer.js';
import { TextClassificationSource, iterateBatches } from '../src/data/batching.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string', default: 'spam' }, temperature: { type: 'string', default: '2' } },
});
if (!positionals.length) throw new Error('give one or more text classifier model files');
const T = Number(values.temperature);
const data = loadDataset(values.data!, 'classify');
if (data.task !== 'classify') throw new Error(`${values.data} is not a classification data set`);
const SPLITS = ['train', 'validation'] as const;

/** One row per split for one model file; its tokenizer and session are made once for both. */
async function spread(file: string) {
  const { graph } = readOnnxFile(file);
  const raw = graph.metadata.get(META.preprocessing);
  if (!raw) throw new Error(`${file} has no '${META.preprocessing}' metadata: was it written by minnow train?`);
  const pre = JSON.parse(raw) as Preprocessing;
  if (pre.kind !== 'text') throw new Error(`${file} is not a text model`);
  const tokenizer = tokenizerFromJSON(tokenizerJsonOf(graph.metadata)!);
  const session = await createSession(encodeModel(graph));
  const rows = [];
  for (const split of SPLITS) {
    const ex = data.splits[split] as { text: string; label: number }[];
    const tokens = ex.map((e) => tokenizer.encode(e.text));
    const lengths = tokens.map((t) => t.length).sort((x, y) => x - y);
    // The first max_length tokens of each mail: the view a student is distilled on without --augment.
    const source = new TextClassificationSource(tokens.map((t) => t.slice(0, pre.max_length)), ex.map((e) => e.label), tokenizer.padId, pre.max_length);
    let n = 0, hits = 0, pLabel = 0, soft = 0;
    for (const batch of iterateBatches(source, { batchSize: 32, seed: 0, epoch: 0, shuffle: false })) {
      const labels = batch.labels!.data as BigInt64Array;
      const { labels: _, ...feeds } = batch;
      const logits = Object.values(await run(session, feeds))[0]!;
      const width = logits.dims.at(-1)!;
      const z = logits.data as Float32Array;
      for (let r = 0; r < labels.length; r++) {
        const row = Array.from(z.subarray(r * width, (r + 1) * width));
        const y = Number(labels[r]);
        const p1 = softmax(row, 1);
        if (p1.indexOf(Math.max(...p1)) === y) hits++;
        pLabel += p1[y]!;
        if (Math.max(...softmax(row, T)) < 0.9) soft++;
        n++;
      }
    }
    const row = {
      file, temperature: T, split, examples: n, accuracy: hits / n, mean_p_label: pLabel / n, share_not_one_hot_at_T: soft / n,
      // How much of each mail the model reads at all.
      median_tokens: lengths[lengths.length >> 1], share_longer_than_input: lengths.filter((l) => l > pre.max_length).length / n,
    };
    console.error(JSON.stringify(row));
    rows.push(row);
  }
  await session.release();
  return rows;
}

function softmax(z: number[], t: number): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp((v - m) / t));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

const rows = [];
for (const file of positionals) rows.push(...(await spread(file)));
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), data: values.data, rows }, null, 2));
