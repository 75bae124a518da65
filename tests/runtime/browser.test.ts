// The browser example in Debian's Chromium (driven by playwright-core): it loads an int4 student
// with onnxruntime-web and must give the labels and scores the Node runtime gives.
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
import { compressModel } from '../../src/compress/compress.js';
import { loadModel } from '../../runtime/index.js';

const root = path.resolve(__dirname, '../..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream' };
let server: http.Server;
let base: string;
let browser: Browser;
let modelBytes: Uint8Array;

beforeAll(async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'minnow-browser-'));
  await train({ task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', epochs: 2, batch: 16, lr: 3e-3, vocabSize: 400, out, dataOptions: { limit: 256 } });
  modelBytes = compressModel(readFileSync(path.join(out, 'model.onnx')), { quantize: 'int4', blockSize: 32, keep: 'none' }).bytes;
  const bundle = await build({ entryPoints: [path.join(root, 'runtime/index.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, external: ['node:fs/promises', 'node:path'] });
  const runtimeJs = bundle.outputFiles[0]!.contents;
  const micro = await build({ entryPoints: [path.join(root, 'runtime/micro/index.ts')], bundle: true, format: 'esm', platform: 'browser', write: false, external: ['node:fs/promises', 'node:path'] });
  const microJs = micro.outputFiles[0]!.contents;
  const files: Record<string, () => Uint8Array> = {
    '/': () => readFileSync(path.join(root, 'examples/browser/index.html')),
    '/app.js': () => readFileSync(path.join(root, 'examples/browser/app.js')),
    '/runtime.js': () => runtimeJs,
    '/model.onnx': () => modelBytes,
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
});
