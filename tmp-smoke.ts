import { train } from './src/train/job.js';
const t = Date.now();
const r = await train({ task: process.argv[2] as any, data: process.argv[3]!, model: process.argv[4], epochs: Number(process.argv[5] ?? 1), out: '/tmp/run-' + process.argv[2], batch: Number(process.argv[6] ?? 64), lr: Number(process.argv[7] ?? 1e-3), maxSteps: process.argv[8] ? Number(process.argv[8]) : undefined,
  onEvent: (e) => { if (e.type === 'step' && e.step % 100 === 0) console.log(e.step, e.totalSteps, e.loss.toFixed(4), e.samplesPerSec.toFixed(0)); else if (e.type !== 'step') console.log(JSON.stringify(e)); } });
console.log(JSON.stringify(r), (Date.now() - t) / 1000);
