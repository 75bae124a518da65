// What tests/runtime/micro-engines.test.ts runs inside Hermes and QuickJS: each student from its
// bytes, on the inputs given; one line of JSON back (or {error}).
import { loadModel } from 'minnow/micro';
import spam from 'model:spam';
import spamInt8 from 'model:spam int8';
import spamInt4 from 'model:spam int4';
import spamInt4Odd from 'model:spam int4, zero points, odd blocks';
import mnist from 'model:mnist';
import mnistInt8 from 'model:mnist int8';
import mnistInt4 from 'model:mnist int4';
import mobyDecoder from 'model:moby decoder';
import mobyDecoderInt8 from 'model:moby decoder int8';
import mobyDecoderInt4 from 'model:moby decoder int4';
import inputsJson from 'inputs';

interface Inputs { texts: string[]; images: number[][]; prompt: string; maxTokens: number }

async function main(): Promise<void> {
  const inputs = JSON.parse(inputsJson) as Inputs;
  const out: Record<string, unknown> = { engine: { wasm: typeof WebAssembly, crypto: typeof crypto } };
  const started = Date.now();
  const texts: [string, Uint8Array][] = [['spam', spam], ['spam int8', spamInt8], ['spam int4', spamInt4], ['spam int4, zero points, odd blocks', spamInt4Odd]];
  for (const [name, bytes] of texts) {
    const model = await loadModel(bytes, { truncation: 'right' });
    out[name] = { sha256: model.info.sha256, predictions: await model.classify(inputs.texts) };
  }
  for (const [name, bytes] of [['mnist', mnist], ['mnist int8', mnistInt8], ['mnist int4', mnistInt4]] as [string, Uint8Array][]) {
    const model = await loadModel(bytes);
    const predictions = [];
    for (const pixels of inputs.images) predictions.push(await model.classify(pixels));
    out[name] = { sha256: model.info.sha256, predictions };
  }
  for (const [name, bytes] of [['moby decoder', mobyDecoder], ['moby decoder int8', mobyDecoderInt8], ['moby decoder int4', mobyDecoderInt4]] as [string, Uint8Array][]) {
    const lm = await loadModel(bytes);
    let text = '';
    for await (const piece of lm.generate(inputs.prompt, { maxTokens: inputs.maxTokens })) text += piece;
    out[name] = { sha256: lm.info.sha256, text };
  }
  out.ms = Date.now() - started;
  console.log(JSON.stringify(out));
}

main().catch((err: Error) => console.log(JSON.stringify({ error: `${err.message}\n${err.stack ?? ''}` })));
