// What top-k soft labels cost: bytes per position against full fp32, and the KL divergence between
// the teacher's full distribution and top-k + uniform tail, for a trained BPE language model with a
// 4096-token vocabulary (trained here for 600 steps on Moby Dick).
//   npx tsx bench/topk.ts [--steps 600]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { train } from '../src/train/job.js';
import { readOnnxFile } from '../src/onnx/model-file.js';
import { createSession, run } from '../src/onnx/runtime.js';
import { Tensor } from '../src/onnx/tensor.js';
import { tokenizerFromJSON } from '../src/data/tokenizers/index.js';
import { loadDataset } from '../src/data/datasets.js';
import { META } from '../src/format/metadata.js';
import { encodeFrame } from '../src/protocol/codec.js';
import { softLabels, topKTailKL, logSoftmaxRows } from '../teacher/soft-labels.js';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '600' } } });
const out = mkdtempSync(path.join(tmpdir(), 'minnow-topk-'));
const ctx = 64;
const report = await train({
  task: 'lm', data: 'moby-dick', model: `transformer:layers=2,dim=128,heads=4,ff=512,ctx=${ctx}`, tokenizer: 'bpe', vocabSize: 4096,
  epochs: 20, batch: 32, lr: 2e-3, maxSteps: Number(values.steps), out, warmup: 30,
});
const { bytes, graph } = readOnnxFile(path.join(out, 'model.onnx'));
const tokenizer = tokenizerFromJSON(graph.metadata.get(META.tokenizer)!);
const vocab = tokenizer.vocabSize;
const data = loadDataset('moby-dick', 'lm');
if (data.task !== 'lm') throw new Error('unreachable');
const tokens = tokenizer.encode(data.splits.validation).slice(0, 16 * ctx);
const session = await createSession(bytes);
const input = new Tensor('int64', [16, ctx], BigInt64Array.from(tokens, (t) => BigInt(t)));
const logits = (await run(session, { input_ids: input })).logits!.data as Float32Array;
const positions = 16 * ctx;
const rows: Record<string, unknown>[] = [];
for (const temperature of [1, 2]) {
  const full = softLabels(logits, positions, vocab, { temperature, topK: 0, fp16: false });
  const fullBytes = encodeFrame({ log_probs: full.log_probs }).length / positions;
  const lp = logSoftmaxRows(logits, positions, vocab, temperature);
  for (const k of [8, 32, 128]) {
    const top = softLabels(logits, positions, vocab, { temperature, topK: k, fp16: false });
    const topHalf = softLabels(logits, positions, vocab, { temperature, topK: k, fp16: true });
    const b = encodeFrame({ log_probs: top.log_probs, indices: top.indices, tail_mass: top.tail_mass }).length / positions;
    const bh = encodeFrame({ log_probs: topHalf.log_probs, indices: topHalf.indices, tail_mass: topHalf.tail_mass }).length / positions;
    rows.push({ temperature, k, bytes_per_position: Number(b.toFixed(1)), fp16_bytes_per_position: Number(bh.toFixed(1)), ratio_to_full_fp32: Number((b / fullBytes).toFixed(4)), kl_nats: Number(topKTailKL(lp, positions, vocab, k).toFixed(5)) });
  }
}
console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), vocab, teacher_val_loss_nats_per_token: (report.metrics as { val_loss: number }).val_loss, steps: report.steps, full_fp32_bytes_per_position: vocab * 4, rows }, null, 2));
