// report.html: one self-contained page (no network) of a pipeline run. Charts are Vega-Lite specs
// rendered to inline SVG by vega's headless renderer; each chart is followed by the numbers it shows.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { PipelineReport } from './report.js';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try { return await view.toSVG(); } finally { view.finalize(); }
}

function table(rows: readonly object[]): string {
  if (!rows.length) return '<p class="none">no data</p>';
  const records = rows as readonly Record<string, unknown>[];
  const keys = Object.keys(records[0]!);
  const cell = (v: unknown) => `<td>${esc(typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v)}</td>`;
  const html = `<table><thead><tr>${keys.map((k) => `<th>${esc(k)}</th>`).join('')}</tr></thead><tbody>${records.map((r) => `<tr>${keys.map((k) => cell(r[k])).join('')}</tr>`).join('')}</tbody></table>`;
  // Long series fold away under the chart; the page stays one that people read.
  return records.length > 12 ? `<details><summary>the ${records.length} numbers behind this chart</summary>${html}</details>` : html;
}

const base = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width: 560, height: 260, background: 'white' } as const;

function curvesSpec(rows: PipelineReport['curves']['training'], title: string, y: string): TopLevelSpec {
  return {
    ...base, title, data: { values: rows }, mark: { type: 'line', point: rows.length < 60 },
    encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'value', type: 'quantitative', title: y, scale: { zero: false } }, color: { field: 'run', type: 'nominal' } },
  } as TopLevelSpec;
}

function sizeSpec(r: PipelineReport): TopLevelSpec {
  const rows = r.models.map((m) => ({ model: m.name, bytes: m.bytes, value: m.metric }));
  return {
    ...base, title: `${r.metricName === 'accuracy' ? 'Test accuracy' : 'Validation loss'} against file size`, data: { values: rows },
    encoding: { x: { field: 'bytes', type: 'quantitative', scale: { type: 'log' }, title: 'file bytes (log scale)' }, y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: r.metricName } },
    layer: [{ mark: { type: 'point', filled: true, size: 80 }, encoding: { color: { field: 'model', type: 'nominal' } } }, { mark: { type: 'text', dy: -10, fontSize: 10 }, encoding: { text: { field: 'model' } } }],
  } as TopLevelSpec;
}

function latencySpec(r: PipelineReport): TopLevelSpec {
  const rows = r.models.flatMap((m) => [{ model: m.name, runtime: 'onnxruntime-node', ms: m.p50NodeMs }, { model: m.name, runtime: 'onnxruntime-web (wasm)', ms: m.p50WebMs }]);
  return {
    ...base, title: 'p50 latency at batch 1 (one thread)', data: { values: rows }, mark: 'bar',
    encoding: {
      x: { field: 'model', type: 'nominal', sort: null, axis: { labelAngle: 0 } }, xOffset: { field: 'runtime' },
      y: { field: 'ms', type: 'quantitative', title: 'ms' }, color: { field: 'runtime', type: 'nominal', legend: { labelLimit: 240 } },
    },
  } as TopLevelSpec;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}table{border-collapse:collapse;margin:.5em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}
.chart svg{max-width:100%;height:auto}.none{color:#888}code{font-size:13px}`;

function summary(r: PipelineReport): string {
  const s = r.shipped;
  return `<h2>Shipped student</h2><p><code>${esc(s.file)}</code>: ${esc(s.model)}, ${s.bytes.toLocaleString('en-US')} bytes
(${s.teacherBytesRatio ? `1/${s.teacherBytesRatio.toFixed(1)} of the teacher's` : 'teacher size unknown'}), ${esc(r.metricName)} ${s.metric.toFixed(4)}
${s.teacherMetricShare ? `(${(100 * s.teacherMetricShare).toFixed(1)}% of the teacher's)` : ''}.</p>
<p>sha256 <code>${esc(s.sha256)}</code></p><pre><code>${esc(r.snippet)}</code></pre>`;
}

function stages(r: PipelineReport): string {
  const rows = Object.entries(r.stages).map(([stage, s]) => ({ stage, status: s.status, seconds: Number(s.seconds.toFixed(1)), result: s.line }));
  const commands = Object.entries(r.commands).filter(([, c]) => c.length).map(([stage, c]) => `<h3>${esc(stage)}</h3><pre><code>${c.map(esc).join('\n')}</code></pre>`).join('');
  return `<h2>Stages</h2>${table(rows)}<h2>Commands that reproduce each stage</h2>${commands}`;
}

export async function renderReport(r: PipelineReport): Promise<string> {
  const models = r.models.map((m) => ({ model: m.name, role: m.role, params: m.params, bytes: m.bytes, [r.metricName]: m.metric, node_p50_ms: m.p50NodeMs, web_p50_ms: m.p50WebMs, sha256: m.sha256.slice(0, 12) }));
  const charts: [string, TopLevelSpec, object[]][] = [
    ['Learning curves', curvesSpec(r.curves.training, 'Training loss (the student\'s is its distillation loss)', 'loss'), r.curves.training],
    ['Validation during training', curvesSpec(r.curves.validation, `Validation ${r.metricName}`, r.metricName), r.curves.validation],
    ['Size and quality', sizeSpec(r), models],
    ['Latency', latencySpec(r), models.map((m) => ({ model: m.model, node_p50_ms: m.node_p50_ms, web_p50_ms: m.web_p50_ms }))],
  ];
  const sections = await Promise.all(charts.map(async ([title, spec, rows]) => `<h2>${esc(title)}</h2><div class="chart">${await svgOf(spec)}</div>${table(rows)}`));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>minnow pipeline: ${esc(r.data)}</title><style>${STYLE}</style></head><body>
<h1>minnow pipeline: ${esc(r.data)} (${esc(r.task)}${r.quick ? ', quick' : ''})</h1><p>${esc(r.created)} · minnow ${esc(r.minnow)}</p>
${summary(r)}${sections.join('\n')}${stages(r)}</body></html>
`;
}
