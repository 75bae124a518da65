// The browser example in Debian's Chromium (driven by playwright-core): it loads an int4 student
// with onnxruntime-web and must give the labels and scores the Node runtime gives; and it adapts an
// int8 student that carries its training step to a rule of the user's, in the page, as Node does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import * as ortNode from 'onnxruntime-node';
import { train } from '../../src/train/job.js';
import * as ortWeb from 'onnxruntime-web';
import { compressModel } from '../../src/compress/compress.js';
import { withFinetuneStep } from '../../src/train/finetune-step.js';
import { loadModel } from '../../runtime/index.js';
import { examples, ordinary, relativeGap, rule } from './finetune-fixtures.js';

const root = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };
let server: http.Server;
let base: string;
let browser: Browser;
let modelBytes: Uint8Array;
let adaptableBytes: Uint8Array;
ortWeb.env.wasm.numThreads = 1;

beforeAll(async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'minnow-browser-'));
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', epochs: 2, batch: 16, lr: 3e-3, vocabSize: 400, out, dataOptions: { limit: 256 } });
  modelBytes = compressModel(readFileSync(path.join(out, 'model.onnx')), { quantize: 'int4', blockSize: 32, keep: 'none' }).bytes;
  const adaptable = compressModel(readFileSync(path.join(out, 'model.onnx')), { quantize: 'int8', finetunable: { last: 1 } });
  adaptableBytes = withFinetuneStep(adaptable.bytes, adaptable.finetunable!);
  // Split as an app's bundler splits it: fine-tuning is a chunk of its own, fetched on first use.
  const bundle = await build({
    entryPoints: { runtime: path.join(root, 'runtime/index.ts') }, bundle: true, format: 'esm', platform: 'browser', splitting: true,
    outdir: path.join(out, 'bundle'), write: false, external: ['node:fs/promises', 'node:path'],
  });
  const chunks = Object.fromEntries(bundle.outputFiles.map((f) => [`/${path.basename(f.path)}`, () => f.contents]));
  const micro = await build({ entryPoints: [path.join(root, 'runtime/micro/index.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, external: ['node:fs/promises', 'node:path'] });
  const microJs = micro.outputFiles[0]!.contents;
  const files: Record<string, () => Uint8Array> = {
    '/': () => readFileSync(path.join(root, 'examples/browser/index.html')),
    '/app.js': () => readFileSync(path.join(root, 'examples/browser/app.js')),
    ...chunks,
    '/model.onnx': () => modelBytes,
    '/adaptable.onnx': () => adaptableBytes,
    '/micro.js': () => microJs,
    '/blank.html': () => new TextEncoder().encode('<!doctype html><title>micro</title>'),
  };
  server = http.createServer((req, res) => {
    const url = new URL(req.url!, 'http://x').pathname;
    const ortFile = url.startsWith('/ort/') ? path.join(root, 'node_modules/onnxruntime-web/dist', path.basename(url)) : undefined;
    const body = files[url]?.() ?? (ortFile && existsSync(ortFile) ? readFileSync(ortFile) : undefined);
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(url)] ?? 'text/html', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('examples/browser in Chromium', () => {
  it('classifies with the int4 student, matching the Node runtime to 1e-4, and saves a screenshot', async () => {
    const texts = [
      'Congratulations! You have WON a free cruise. Click here to claim your prize now!!!',
      'Hi team, the meeting is moved to 3pm tomorrow; notes are in the shared folder.',
      'naïve café — 東京 😀 limited offer, unsubscribe below',
    ];
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForSelector('#go:not([disabled])', { timeout: 60_000 });
    await page.fill('#texts', texts.join('\n'));
    await page.click('#go');
    await page.waitForSelector('#out[data-done="true"]', { state: 'attached', timeout: 60_000 });
    const inBrowser = JSON.parse(await page.textContent('#out') ?? '[]') as { label: string; score: number }[][];
    expect(errors).toEqual([]);
    expect(await page.textContent('#status')).toMatch(/ready \(int4, sha256 [0-9a-f]{12}/);
    mkdirSync(path.join(root, 'tests/.tmp'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'tests/.tmp/browser-example.png'), fullPage: true });

    const nodeModel = await loadModel(modelBytes, { ort: ortNode as never, truncation: 'right' });
    const inNode = await nodeModel.classify(texts);
    expect(inBrowser).toHaveLength(texts.length);
    inBrowser.forEach((preds, i) => {
      expect(preds.map((p) => p.label)).toEqual(inNode[i]!.map((p) => p.label));
      preds.forEach((p, j) => expect(Math.abs(p.score - inNode[i]![j]!.score)).toBeLessThan(1e-4));
    });
    await nodeModel.dispose();
  });

  it('minnow/micro classifies the same int4 student in Chromium with no wasm fetched, matching onnxruntime-node to 1e-3', async () => {
    const texts = ['Congratulations! You have WON a free cruise. Click here now!!!', 'Minutes of the budget meeting are attached.'];
    const page = await browser.newPage();
    const fetched: string[] = [];
    page.on('request', (r) => fetched.push(r.url()));
    await page.goto(`${base}/blank.html`);
    // A string, not a function: vitest would rewrite a function's import() into its own loader.
    const inBrowser = await page.evaluate(`(async () => {
      const micro = await import('/micro.js');
      const bytes = new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer());
      const model = await micro.loadModel(bytes, { truncation: 'right' });
      return { preds: await model.classify(${JSON.stringify(texts)}) };
    })()`) as { preds: { label: string; score: number }[][] };
    expect(fetched.filter((u) => /\.wasm|\/ort\//.test(u))).toEqual([]);
    const nodeModel = await loadModel(modelBytes, { ort: ortNode as never, truncation: 'right' });
    const inNode = await nodeModel.classify(texts);
    expect(inBrowser.preds).toHaveLength(texts.length);
    inBrowser.preds.forEach((preds, i) => {
      expect(preds.map((p) => p.label)).toEqual(inNode[i]!.map((p) => p.label));
      preds.forEach((p, j) => expect(Math.abs(p.score - inNode[i]![j]!.score)).toBeLessThan(1e-3));
    });
    await nodeModel.dispose();
  });

  it('adapts an int8 student to a rule in the page: the weights of the same run in Node (1e-5), fine-tuning fetched on first use, kept in IndexedDB', async () => {
    const page = await browser.newPage();
    const fetched: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/?model=adaptable.onnx`);
    await page.waitForSelector('#go:not([disabled])', { timeout: 60_000 });
    expect(await page.isVisible('#adapt-section')).toBe(true);
    // (The page restores earlier adaptations at load, so the code that stores them is fetched already.)
    const lazy = () => fetched.filter((f) => /finetune/.test(f));
    expect(lazy()).toEqual([]);
    const options = { epochs: 30, lr: 3e-3, heldOut: 0 };
    // A string, not a function: vitest would rewrite a function's import() into its own loader.
    const inBrowser = await page.evaluate(`(async () => {
      const { model } = window.minnow;
      const report = await model.finetune(${JSON.stringify(examples)}, ${JSON.stringify(options)});
      let bytes = '';
      for (const b of model.export()) bytes += String.fromCharCode(b);
      return { report, bytes: btoa(bytes), rule: (await model.classify(${JSON.stringify(rule)})).map((p) => p[0].label) };
    })()`) as { report: { steps: number; weightsSha256: string }; bytes: string; rule: string[] };
    expect(lazy().length).toBeGreaterThan(0);
    expect(inBrowser.rule).toEqual(rule.map(() => 'spam'));
    expect(inBrowser.report.steps).toBe(60);

    // The same run in Node, in onnxruntime-web's wasm: the same weights. The browser's file loads
    // with its new digest verified.
    const inNode = await loadModel(adaptableBytes, { ort: ortWeb as never });
    await inNode.finetune(examples, options);
    const fromBrowser = await loadModel(Buffer.from(inBrowser.bytes, 'base64'), { ort: ortNode as never });
    expect(fromBrowser.info.sha256).toBe(inBrowser.report.weightsSha256);
    expect(relativeGap(fromBrowser, inNode)).toBeLessThan(1e-5);

    // The page's own controls: adapt to its examples, keeping the verdicts on the messages above;
    // the adapted weights come back after a reload, and reset returns to the shipped ones.
    await page.fill('#texts', ordinary.join('\n'));
    await page.fill('#examples', rule.slice(0, 4).map((t) => `spam | ${t}`).join('\n'));
    await page.click('#adapt');
    await page.waitForFunction(() => /^adapted:/.test(document.getElementById('adapt-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.reload();
    await page.waitForSelector('#go:not([disabled])', { timeout: 60_000 });
    expect(await page.textContent('#adapt-status')).toMatch(/restored/);
    expect(await page.textContent('#status')).toMatch(/adapted on this device/);
    await page.screenshot({ path: path.join(root, 'tests/.tmp/browser-adapt.png'), fullPage: true });
    await page.click('#reset');
    await page.waitForFunction(() => /shipped/.test(document.getElementById('adapt-status')!.textContent ?? ''));
    expect(await page.textContent('#status')).not.toMatch(/adapted/);
    expect(errors).toEqual([]);
  });
});
