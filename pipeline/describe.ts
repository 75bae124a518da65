// The one line each stage ends with.
import path from 'node:path';
import type { Context } from './context.js';
import type { TeacherResult } from './stages/teacher.js';
import type { DistillResult, StudentRun } from './stages/distill.js';
import type { CompressResult } from './stages/compress.js';
import type { Measured } from './stages/evaluate.js';
import type { PipelineReport } from './report.js';

const n = (x: number | undefined) => (x === undefined ? '?' : x.toLocaleString('en-US'));
const kb = (bytes: number) => `${(bytes / 1000).toFixed(bytes < 10_000 ? 1 : 0)} KB`;

/** accuracy 0.9731, or val_loss 1.6012 */
function metric(m: Record<string, number> | undefined): string {
  if (!m) return 'no metrics';
  if (m.accuracy !== undefined) return `accuracy ${m.accuracy.toFixed(4)}`;
  return `val_loss ${(m.val_loss ?? m.loss ?? NaN).toFixed(4)}`;
}

const student = (s: StudentRun) => `${metric(s.metrics)}, ${n(s.params)} params`;

export const describe = {
  teacher(t: TeacherResult): string {
    const data = `${n(t.examples.train)} / ${n(t.examples.validation)} / ${n(t.examples.test)} train / validation / test`;
    if (t.source === 'server') return `the teacher at ${t.url}: ${n(t.params)} params, ${metric(t.metrics)} (data: ${data})`;
    return `${t.source === 'trained' ? `trained ${t.spec}` : `took ${t.model}`}: ${n(t.params)} params, ${metric(t.metrics)} (data: ${data})`;
  },
  distill(d: DistillResult): string {
    return `student ${student(d.student)}; its --no-teacher twin ${metric(d.twin.metrics)}`;
  },
  compress(c: CompressResult): string {
    const by = (name: string) => c.candidates.find((x) => x.name === name);
    const fp32 = by('fp32')!;
    const ratio = (name: string) => { const x = by(name); return x ? `${name} ${(x.bytes / fp32.bytes).toFixed(2)}x${x.within ? '' : ' (outside the target)'}` : undefined; };
    const parts = ['int8', 'int4', 'qat-int4', 'structured-int4'].map(ratio).filter(Boolean);
    const structured = c.structured.kept ? `structured pruning kept (${(100 * c.structured.paramsRemoved).toFixed(0)}% of params removed)` : 'structured pruning did not pay';
    return `${parts.join(', ')}; ${structured}; shipping ${c.shipped}`;
  },
  evaluate(models: Measured[]): string {
    return models.map((m) => `${m.name} ${m.metricName === 'accuracy' ? m.metric.toFixed(4) : m.metric.toFixed(3)} ${kb(m.bytes)} ${m.p50NodeMs.toFixed(2)}/${m.p50WebMs.toFixed(2)} ms`).join('; ') + ' (metric, bytes, p50 node/web)';
  },
  report: (ctx: Context) => (r: PipelineReport): string =>
    `${path.join(ctx.out, 'report.html')}; shipped ${r.shipped.file} (${kb(r.shipped.bytes)}, sha256 ${r.shipped.sha256.slice(0, 12)}…)`,
};
