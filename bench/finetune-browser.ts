// Learning on the device (issue 20), in Chromium: bench/finetune.ts's run, with the student loaded by
// the browser example (examples/browser) and fine-tuned in the page by onnxruntime-web (wasm). The
// page measures the rule's held-out mails and the ordinary test split before and after; then the same
// run in Node (onnxruntime-web there too) must give the same weights.
//   npx tsx bench/finetune-browser.ts STUDENT.onnx [the flags of bench/finetune.ts]
// Needs Debian's chromium (CHROMIUM_PATH to use another).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import * as ortWeb from 'onnxruntime-web';
import { loadModel } from '../runtime/index.js';
// The tests' measure of how far two adapted models' weights are apart, so that both say the same.
import { relativeGap } from '../tests/runtime/finetune-fixtures.js';
import { drawRule } from './finetune-rules.js';
import { FINETUNE_FLAGS, adaptableStudent } from './finetune.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: FINETUNE_FLAGS });
if (!positionals[0]) throw new Error('usage: npx tsx bench/finetune-browser.ts STUDENT.onnx [--rule feeds] [--part last:2] ...');
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const seed = Number(values.seed);
const draw = drawRule({ rule: values.rule, examples: Number(values.examples), ruleExamples: Number(values['rule-examples']), keep: Number(values.keep), seed });
const bytes = adaptableStudent(positionals[0], values.part);
const options = { epochs: Number(values.epochs), lr: Number(values.lr), seed, heldOut: Number(values['held-out']) };

const bundle = await build({
  entryPoints: { runtime: path.join(root, 'runtime/index.ts') }, bundle: true, format: 'esm', platform: 'browser', splitting: true,
  outdir: path.join(tmpdir(), 'minnow-finetune-bench'), write: false, external: ['node:fs/promises', 'node:path'],
});
const files: Record<string, () => Uint8Array> = {
  '/': () => readFileSync(path.join(root, 'examples/browser/index.html')),
  '/app.js': () => readFileSync(path.join(root, 'examples/browser/app.js')),
  '/model.onnx': () => bytes,
  ...Object.fromEntries(bundle.outputFiles.map((f) => [`/${path.basename(f.path)}`, () => f.contents])),
};
const server = http.createServer((req, res) => {
  const url = new URL(req.url!, 'http://x').pathname;
  const ortFile = url.startsWith('/ort/') ? path.join(root, 'node_modules/onnxruntime-web/dist', path.basename(url)) : undefined;
  const body = files[url]?.() ?? (ortFile && existsSync(ortFile) ? readFileSync(ortFile) : undefined);
  if (!body) { res.writeHead(404); res.end(); return; }
  const type = url.endsWith('.wasm') ? 'application/wasm' : /\.m?js$/.test(url) ? 'text/javascript' : url.endsWith('.onnx') ? 'application/octet-stream' : 'text/html';
  res.writeHead(200, { 'content-type': type, 'content-length': body.length });
  res.end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.waitForSelector('#go:not([disabled])', { timeout: 120_000 });
  const input = { draw: { examples: draw.examples, keep: draw.keep, rule: draw.heldRule.map((e) => e.text), ordinary: draw.ordinaryTest }, options };
  // A string, not a function: the page's own code runs it, as an app's would.
  const result = await page.evaluate(`(async () => {
    const { model } = window.minnow;
    const { draw, options } = ${JSON.stringify(input)};
    const accuracy = async (texts, wanted) => {
      let hits = 0;
      for (let i = 0; i < texts.length; i += 32) {
        const verdicts = await model.classify(texts.slice(i, i + 32));
        verdicts.forEach((p, k) => { hits += Number(p[0].label === wanted[i + k]); });
      }
      return hits / texts.length;
    };
    const score = async () => ({
      rule: await accuracy(draw.rule, draw.rule.map(() => 'spam')),
      ordinary: await accuracy(draw.ordinary.map((e) => e.text), draw.ordinary.map((e) => model.info.labels[e.label])),
    });
    const before = await score();
    const started = performance.now();
    const report = await model.finetune(draw.examples, { ...options, keep: draw.keep });
    const seconds = (performance.now() - started) / 1000;
    const after = await score();
    let bytes = '';
    for (const b of model.export()) bytes += String.fromCharCode(b);
    return { before, after, seconds, report, bytes: btoa(bytes), userAgent: navigator.userAgent };
  })()`) as { before: { rule: number; ordinary: number }; after: { rule: number; ordinary: number }; seconds: number; report: Record<string, unknown>; bytes: string; userAgent: string };

  ortWeb.env.wasm.numThreads = 1;
  const inNode = await loadModel(bytes, { ort: ortWeb as never, truncation: 'right' });
  await inNode.finetune(draw.examples, { ...options, keep: draw.keep });
  const fromBrowser = await loadModel(Buffer.from(result.bytes, 'base64'), { ort: ortWeb as never, truncation: 'right' });
  const { bytes: _, ...shown } = result;
  console.log(JSON.stringify({
    date: new Date().toISOString().slice(0, 10), engine: 'onnxruntime-web (wasm) in Chromium', student: positionals[0], ...values,
    held_out_rule_mails: draw.heldRule.length, ordinary_test_mails: draw.ordinaryTest.length, ...shown,
    ordinary_drop_points: Number(((result.before.ordinary - result.after.ordinary) * 100).toFixed(2)),
    weights_vs_node_wasm: relativeGap(fromBrowser, inNode), digest_equal: fromBrowser.info.sha256 === inNode.info.sha256,
  }, null, 2));
} finally {
  await browser.close();
  server.close();
}

