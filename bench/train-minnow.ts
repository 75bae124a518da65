// Worker for bench/train.ts: times training steps of a fixed Transformer LM in minnow and prints
// one JSON line. Run it through bench/train.ts, which also runs the PyTorch twin.
import { buildModel, type TransformerConfig } from '../src/nn/models.js';
import { Trainer } from '../src/train/trainer.js';
import { Tensor } from '../src/onnx/tensor.js';
import { Rng } from '../src/format/rng.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { layers: number; dim: number; heads: number; ff: number; ctx: number; batch: number; vocab: number; steps: number; warmup: number; threads: number; arena?: boolean; memoryPattern?: boolean; recompute?: boolean; inPlace?: boolean; optimization?: 'disabled' | 'basic' | 'extended' | 'all'; interOpThreads?: number };
const arch: TransformerConfig = { kind: 'transformer', layers: cfg.layers, dim: cfg.dim, heads: cfg.heads, ff: cfg.ff, ctx: cfg.ctx };
const trainer = await Trainer.create((training) => buildModel(arch, { task: 'lm', vocabSize: cfg.vocab }, { seed: 0, training }), {
  task: 'lm', optimizer: { kind: 'adamw', weightDecay: 0.01 }, lr: 3e-4, warmupSteps: 0, totalSteps: 1000, maxGradNorm: 1, threads: cfg.threads,
  session: { arena: cfg.arena, memoryPattern: cfg.memoryPattern, optimization: cfg.optimization, interOpThreads: cfg.interOpThreads }, recompute: cfg.recompute, inPlace: cfg.inPlace,
});
const rng = new Rng(1);
const batch = () => {
  const n = cfg.batch * cfg.ctx;
  return {
    input_ids: Tensor.fromNumbers('int64', [cfg.batch, cfg.ctx], Array.from({ length: n }, () => rng.int(cfg.vocab))),
    labels: Tensor.fromNumbers('int64', [cfg.batch, cfg.ctx], Array.from({ length: n }, () => rng.int(cfg.vocab))),
  };
};
const batches = Array.from({ length: 4 }, batch);
for (let i = 0; i < cfg.warmup; i++) await trainer.trainStep(batches[i % 4]!);
const times: number[] = [];
let loss = 0;
for (let i = 0; i < cfg.steps; i++) {
  const t = process.hrtime.bigint();
  loss = (await trainer.trainStep(batches[i % 4]!)).loss;
  times.push(Number(process.hrtime.bigint() - t) / 1e9);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(JSON.stringify({
  impl: 'minnow', params: trainer.paramCount(), samples_per_s: cfg.batch / median, step_s_median: median,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024, final_loss: loss,
}));
