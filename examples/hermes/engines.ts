// Runs an app's JavaScript in the engines micro is for. Hermes, as a phone runs a React Native app,
// without the phone: bundled into one script (esbuild standing in for Metro), lowered by React
// Native's own Babel preset (classes and the rest that Hermes 0.12 lacks), and run by npm's
// hermes-engine-cli 0.12, which has no WebAssembly and no native modules. QuickJS
// (quickjs-emscripten), as a small board would run it: the same bundle, unlowered. Chromium
// (playwright-core and Debian's chromium): the same bundle, on a blank page that fetches nothing.
// The example, tests/runtime/micro-engines.test.ts and bench/micro.ts all go through here.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export type Engine = 'hermes' | 'quickjs' | 'chromium';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The hermes binary that hermes-engine-cli ships for this platform (x86-64 only). */
export function hermesBinary(): string {
  const dir = path.dirname(require.resolve('hermes-engine-cli/package.json'));
  const platform = ({ linux: 'linux64-bin', darwin: 'osx-bin', win32: 'win64-bin' } as Record<string, string>)[process.platform];
  if (!platform || (process.arch !== 'x64' && process.platform !== 'darwin')) throw new Error(`hermes-engine-cli 0.12 has no binary for ${process.platform}-${process.arch}`);
  return path.join(dir, platform, process.platform === 'win32' ? 'hermes.exe' : 'hermes');
}

/** A module whose default export is `bytes`, decoded at startup from base64 (Hermes 0.12 has no atob). */
function bytesModule(bytes: Uint8Array): string {
  return `const text = ${JSON.stringify(Buffer.from(bytes).toString('base64'))};
const digits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const value = new Uint8Array(${bytes.length});
for (let i = 0, at = 0, bits = 0, n = 0; i < text.length && text[i] !== '='; i++) {
  bits = (bits << 6) | digits.indexOf(text[i]);
  n += 6;
  if (n >= 8) { n -= 8; value[at++] = (bits >> n) & 255; }
}
export default value;`;
}

/**
 * One script for `engine` from `entry`: 'minnow/micro' resolves to this checkout's runtime/micro, and
 * each of `modules` is a module the app imports by that name, whose default export is the value given
 * (bytes, as an app bundles a model it reads without a native file API; or a string). The script
 * starts by setting APP_STARTED (Date.now()), before any module runs, so that an app can count the
 * decoding of its bundled bytes in its time to a first result.
 */
export async function bundleApp(entry: string, modules: Record<string, Uint8Array | string>, engine: Engine): Promise<string> {
  const virtual: Plugin = {
    name: 'virtual-modules',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => (args.path in modules ? { path: args.path, namespace: 'virtual' } : undefined));
      b.onLoad({ filter: /.*/, namespace: 'virtual' }, (args) => {
        const value = modules[args.path]!;
        return { contents: typeof value === 'string' ? `export default ${JSON.stringify(value)};` : bytesModule(value), loader: 'js' };
      });
    },
  };
  const bundled = await build({
    entryPoints: [entry], bundle: true, format: 'iife', platform: 'neutral', target: 'es2020', write: false,
    alias: { 'minnow/micro': path.join(root, 'runtime/micro/index.ts') },
    // Only reached for a file path, which an app on a phone never passes.
    external: ['node:fs/promises', 'node:path'],
    supported: { 'dynamic-import': false },
    plugins: [virtual],
  });
  const started = 'var APP_STARTED = Date.now();\n';
  const code = bundled.outputFiles[0]!.text;
  // The Hermes CLI and QuickJS have print where React Native and browsers have console.
  const consoleOf = 'var console = { log: print, warn: print, error: print };\n';
  if (engine === 'chromium') return started + code;
  if (engine === 'quickjs') return started + consoleOf + code;
  const babel = require('@babel/core') as { transformSync(code: string, options: object): { code?: string | null } | null };
  const lowered = babel.transformSync(code, {
    babelrc: false, configFile: false, sourceType: 'script', compact: true,
    // enableBabelRuntime: false inlines Babel's helpers, which Metro would otherwise resolve from @babel/runtime.
    presets: [[require.resolve('@react-native/babel-preset'), { enableBabelRuntime: false }]],
  });
  return started + consoleOf + lowered!.code;
}

/** Runs a script in `engine` and returns what it printed. */
export function runApp(engine: Engine, script: string, timeoutMs = 300_000): Promise<string> {
  return { hermes: runInHermes, quickjs: runInQuickJS, chromium: runInChromium }[engine](script, timeoutMs);
}

/** Hermes, with Promises and microtasks on, as in React Native. A failure's message carries what the script printed. */
export async function runInHermes(script: string, timeoutMs = 300_000): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'minnow-hermes-'));
  try {
    const file = path.join(dir, 'app.js');
    writeFileSync(file, script);
    return await new Promise<string>((resolve, reject) => {
      execFile(hermesBinary(), ['-Xes6-promise', '-Xmicrotask-queue', '-w', file], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`hermes failed (${err.message.split('\n')[0]}): ${stderr.trim() || stdout.trim()}`));
        else resolve(stdout);
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * QuickJS: no WebAssembly, no crypto, no TextEncoder in sight of the code, and print() for its
 * output. Pending jobs (the Promises) run until none are left, or until the time limit interrupts it.
 */
export async function runInQuickJS(script: string, timeoutMs = 300_000): Promise<string> {
  const { getQuickJS, shouldInterruptAfterDeadline } = await import('quickjs-emscripten');
  const vm = (await getQuickJS()).newContext();
  const printed: string[] = [];
  try {
    vm.runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeoutMs));
    vm.newFunction('print', (...args) => { printed.push(args.map((a) => vm.getString(a)).join(' ')); }).consume((f) => vm.setProp(vm.global, 'print', f));
    vm.unwrapResult(vm.evalCode(script, 'app.js')).dispose();
    while (vm.unwrapResult(vm.runtime.executePendingJobs()) > 0);
    return printed.map((line) => `${line}\n`).join('');
  } finally {
    vm.dispose();
  }
}

/**
 * Chromium, headless, on about:blank: the script runs as a page script, its console is what it
 * printed, and any network request it makes (a wasm file, say) is an error.
 */
export async function runInChromium(script: string, timeoutMs = 300_000): Promise<string> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage();
    const printed: string[] = [], requests: string[] = [];
    page.on('console', (msg) => printed.push(msg.text()));
    page.on('request', (req) => requests.push(req.url()));
    await page.goto('about:blank');
    // Resolves once the app's promise chain has settled and printed its last line.
    await page.evaluate(`new Promise((resolve) => { const log = console.log; console.log = (...a) => { log(...a); resolve(); }; ${script}\n })`, undefined);
    await page.waitForTimeout(0);
    if (requests.length) throw new Error(`the page fetched ${requests.join(', ')}`);
    void timeoutMs;
    return printed.map((line) => `${line}\n`).join('');
  } finally {
    await browser.close();
  }
}
