// Runs examples/hermes/app.ts in Hermes (React Native's engine, npm's hermes-engine-cli 0.12) on a
// spam student, as a phone would run the app's JavaScript: bundled, lowered by React Native's Babel
// preset, no WebAssembly and no native module. --engine quickjs runs the same app in QuickJS.
//   npx tsx examples/hermes/run.ts runs/spam/compress/int4.onnx [--mail "text"] [--engine quickjs]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { bundleApp, runApp } from './engines.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { engine: { type: 'string', default: 'hermes' }, mail: { type: 'string', default: 'Congratulations! You have been selected to receive a FREE cruise to the Bahamas. Call now to claim your prize.' } },
});
const engine = values.engine;
if (positionals.length !== 1 || (engine !== 'hermes' && engine !== 'quickjs')) {
  console.error('usage: npx tsx examples/hermes/run.ts <student.onnx> [--mail "text"] [--engine hermes|quickjs]  (an int4 student: minnow compress --quantize int4)');
  process.exit(2);
}
let model: Uint8Array;
try {
  model = readFileSync(positionals[0]!);
} catch {
  console.error(`cannot read '${positionals[0]}'; give a student's .onnx file (npx minnow pipeline --data spam --quick --out runs/spam ships runs/spam/student.onnx)`);
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const printed = await runApp(engine, await bundleApp(path.join(here, 'app.ts'), { 'spam-model': model, mail: values.mail! }, engine));
process.stdout.write(printed);
// The app reports a failure as {"error": ...}: a non-zero exit for scripts that run this.
if ('error' in (JSON.parse(printed.trim().split('\n').pop() ?? '{}') as object)) process.exit(1);
