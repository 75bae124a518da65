// Define a small text classifier with minnow's layers and train it on your own JSONL data.
//   npx tsx examples/train-custom.ts data.jsonl [out.onnx]      (lines: {"text": ..., "label": ...})
import { writeFileSync } from 'node:fs';
import { nn, train, data, onnx, format } from '../src/index.js';

const [file = 'data.jsonl', out = 'custom.onnx'] = process.argv.slice(2);
const dataset = data.loadDataset(file, 'classify');
if (dataset.task !== 'classify') throw new Error('expected classification data');
const labels = dataset.labels;
const tokenizer = data.tokenizerFromJSON(data.trainChars(dataset.splits.train.map((e) => e.text).join('')));
const source = (split: data.Split) => new data.TextClassificationSource(
  dataset.splits[split].map((e) => tokenizer.encode(e.text).slice(0, 64)), dataset.splits[split].map((e) => e.label), tokenizer.padId);

// Embedding -> one Transformer-style attention block -> masked mean pool -> linear head.
function build(training: boolean): nn.BuiltModel {
  const g = new onnx.Graph('custom');
  const s = new nn.Scope(g, new format.Rng(42), '', 'float32', training);
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'seq']);
  let x = nn.positionalEmbedding(s.sub('pos'), nn.embedding(s.sub('emb'), ids, tokenizer.vocabSize, 32), 64);
  x = g.op1('Add', [x, nn.multiHeadAttention(s.sub('attn'), nn.layerNorm(s.sub('ln'), x), { heads: 2, paddingBias: nn.paddingBias(s, mask) })]);
  const m = g.op1('Unsqueeze', [g.op1('Cast', [mask], { to: 1 }), g.int64s([2])]);
  const pooled = g.op1('Div', [g.op1('ReduceSum', [g.op1('Mul', [x, m]), g.int64s([1])], { keepdims: 0 }), g.op1('ReduceSum', [m, g.int64s([1])], { keepdims: 0 })]);
  const logits = g.output(g.alias(nn.linear(s.sub('head'), pooled, labels.length), 'logits'));
  return { graph: g, logits, inputs: [] };
}

const epochs = 10, steps = epochs * Math.ceil(source('train').size / 16);
const trainer = await train.Trainer.create(build, { task: 'classify', optimizer: { kind: 'adamw' }, lr: 3e-3, warmupSteps: 10, totalSteps: steps });
for (let epoch = 0; epoch < epochs; epoch++) {
  for (const batch of data.iterateBatches(source('train'), { batchSize: 16, seed: 42, epoch })) await trainer.trainStep(batch);
}
const result = await trainer.evaluate(data.iterateBatches(source('validation'), { batchSize: 64, seed: 0, epoch: 0, shuffle: false }));
writeFileSync(out, trainer.exportModel({ [format.META.task]: 'classify', [format.META.labels]: JSON.stringify(labels) }));
console.log(JSON.stringify({ validation_accuracy: result.accuracy, params: trainer.paramCount(), out }));
