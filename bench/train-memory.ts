// Where a training step's memory goes in minnow: one process per configuration, RSS read at each
// stage (onnxruntime loaded, sessions made, after the first step, peak over the steps), next to the
// bytes of what the trainer holds (parameters, optimizer state) and what JavaScript holds.
//   npx tsx bench/train-memory.ts [--steps 6]
// Each row runs in a fresh process (`--worker` with its configuration), so that RSS is its own.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '6' }, worker: { type: 'string' } } });

interface Config { name: string; layers: number; dim: number; heads: number; ff: number; ctx: number; batch: number; vocab: number; arena?: boolean; memoryPattern?: boolean; inPlace?: boolean }

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
const rss = () => mb(process.memoryUsage().rss);

async function worker(cfg: Config, steps: number): Promise<Record<string, unknown>> {
  const started = rss();
  const { buildModel } = await import('../src/nn/models.js');
  const { Trainer } = await import('../src/train/trainer.js');
  const { Tensor } = await import('../src/onnx/tensor.js');
  const { Rng } = await import('../src/format/rng.js');
  const loaded = rss();
  const trainer = await Trainer.create((training) => buildModel({ kind: 'transformer', layers: cfg.layers, dim: cfg.dim, heads: cfg.heads, ff: cfg.ff, ctx: cfg.ctx }, { task: 'lm', vocabSize: cfg.vocab }, { seed: 0, training }), {
    task: 'lm', optimizer: { kind: 'adamw', weightDecay: 0.01 }, lr: 3e-4, warmupSteps: 0, totalSteps: 1000, maxGradNorm: 1, threads: 2,
    session: { arena: cfg.arena, memoryPattern: cfg.memoryPattern }, inPlace: cfg.inPlace,
  });
  const sessions = rss();
  const rng = new Rng(1), n = cfg.batch * cfg.ctx;
  const batch = () => ({
    input_ids: Tensor.fromNumbers('int64', [cfg.batch, cfg.ctx], Array.from({ length: n }, () => rng.int(cfg.vocab))),
    labels: Tensor.fromNumbers('int64', [cfg.batch, cfg.ctx], Array.from({ length: n }, () => rng.int(cfg.vocab))),
  });
  await trainer.trainStep(batch());
  const first = rss();
  for (let i = 1; i < steps; i++) await trainer.trainStep(batch());
  const bytes = (ts: Iterable<{ data: { byteLength: number } }>) => [...ts].reduce((s, t) => s + t.data.byteLength, 0);
  const usage = process.memoryUsage();
  return {
    config: cfg.name, arena: cfg.arena ?? true, memory_pattern: cfg.memoryPattern ?? false, in_place: cfg.inPlace ?? true, params: trainer.paramCount(),
    parameters_mb: mb(bytes(trainer.params.values())), optimizer_state_mb: mb(bytes(trainer.state.values())),
    rss_mb: { node: started, onnxruntime_loaded: loaded, sessions_made: sessions, after_step_1: first, peak: mb(process.resourceUsage().maxRSS * 1024), end: rss() },
    js_mb: { array_buffers: mb(usage.arrayBuffers), heap_used: mb(usage.heapUsed) },
  };
}

const CONFIGS: Config[] = [
  { name: 'teacher size: 6 layers, dim 384, ctx 128, vocab 4000, batch 16', layers: 6, dim: 384, heads: 6, ff: 1536, ctx: 128, batch: 16, vocab: 4000 },
  { name: 'student size: 2 layers, dim 64, ctx 256, vocab 4000, batch 32', layers: 2, dim: 64, heads: 2, ff: 256, ctx: 256, batch: 32, vocab: 4000 },
  { name: 'bench/train.ts: 4 layers, dim 256, ctx 128, vocab 256, batch 32', layers: 4, dim: 256, heads: 4, ff: 1024, ctx: 128, batch: 32, vocab: 256 },
];

if (values.worker) {
  console.log(JSON.stringify(await worker(JSON.parse(values.worker) as Config, Number(values.steps))));
} else {
  const rows = [];
  for (const cfg of CONFIGS) {
    // The trainer's defaults (arena on, memory pattern off, updates in place), then one change each.
    for (const variant of [{}, { inPlace: false }, { memoryPattern: true }, { arena: false }]) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--steps', String(values.steps), '--worker', JSON.stringify({ ...cfg, ...variant })], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      rows.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
    }
  }
  console.log(JSON.stringify({ date: new Date().toISOString().slice(0, 10), steps: Number(values.steps), rows }, null, 2));
}
