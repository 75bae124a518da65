// What bench/micro.ts runs inside Hermes and QuickJS: each student from its bytes, timed with the
// engine's own clock (Date.now: Hermes 0.12 has no performance.now) after a warm-up of a second, in
// samples of at least 20 ms so that a millisecond clock still resolves a fast model. One line of JSON back.
import { loadModel, type Model } from 'minnow/micro';
import spam from 'model:spam';
import spamInt8 from 'model:spam int8';
import spamInt4 from 'model:spam int4';
import mnist from 'model:mnist';
import mnistInt8 from 'model:mnist int8';
import mobyDecoder from 'model:moby decoder';
import inputsJson from 'inputs';

interface Inputs { mail: string; pixels: number[]; prompt: string; samples: number }

/** Median milliseconds of one call, over `samples` samples of as many calls as fill 20 ms, after a second of warm-up. */
async function p50(f: () => Promise<unknown>, samples: number): Promise<number> {
  let calls = 0;
  const warm = Date.now();
  while (calls < 3 || Date.now() - warm < 1000) { await f(); calls++; }
  const batch = Math.max(1, Math.ceil((20 * calls) / (Date.now() - warm)));
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t = Date.now();
    for (let i = 0; i < batch; i++) await f();
    times.push((Date.now() - t) / batch);
  }
  return median(times);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function perToken(model: Model, prompt: string): Promise<number> {
  const stamps: number[] = [];
  for await (const _ of model.generate(prompt, { maxTokens: 33 })) stamps.push(Date.now());
  return (stamps[stamps.length - 1]! - stamps[0]!) / (stamps.length - 1);
}

async function main(): Promise<void> {
  const inputs = JSON.parse(inputsJson) as Inputs;
  const out: Record<string, number> = {};
  for (const [name, bytes] of [['spam', spam], ['spam int8', spamInt8], ['spam int4', spamInt4]] as [string, Uint8Array][]) {
    const model = await loadModel(bytes, { truncation: 'right' });
    out[name] = await p50(() => model.classify(inputs.mail), inputs.samples);
  }
  for (const [name, bytes] of [['mnist', mnist], ['mnist int8', mnistInt8]] as [string, Uint8Array][]) {
    const model = await loadModel(bytes);
    out[name] = await p50(() => model.classify(inputs.pixels), inputs.samples);
  }
  // As bench/micro.ts does in Node: one generation to warm up, then the median of three.
  const lm = await loadModel(mobyDecoder);
  await perToken(lm, inputs.prompt);
  out['moby decoder'] = median([await perToken(lm, inputs.prompt), await perToken(lm, inputs.prompt), await perToken(lm, inputs.prompt)]);
  console.log(JSON.stringify(out));
}

main().catch((err: Error) => console.log(JSON.stringify({ error: err.message })));
