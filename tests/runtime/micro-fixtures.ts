// The students the micro tests run, trained small and fast on a slice of each data set, and their
// compressed forms: the graphs minnow exports (the presets' ops, in smaller dims), fp32, int8 and int4.
// The LM has two layers (a KV cache per layer) and enough training to write more than spaces.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { train } from '../../src/train/job.js';
import { compressModel } from '../../src/compress/compress.js';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'minnow-micro-'));

function compressed(file: string, quantize: 'int8' | 'int4', zeroPoints = false): string {
  const out = path.join(tmp(), `${quantize}.onnx`);
  writeFileSync(out, compressModel(readFileSync(file), { quantize, blockSize: 16, zeroPoints }).bytes);
  return out;
}

export type Fixture = 'spam' | 'spam int8' | 'spam int4' | 'spam int4, zero points, odd blocks' | 'moby' | 'moby decoder' | 'moby decoder int8' | 'moby decoder int4' | 'mnist' | 'mnist int8' | 'mnist int4';

/** Trains the fixtures and returns their files. */
export async function microFixtures(): Promise<Record<Fixture, string>> {
  const [spam, spam48, moby, mnist] = [tmp(), tmp(), tmp(), tmp()];
  const text = { epochs: 1, batch: 16, lr: 3e-3 };
  // dim 48 in blocks of 16: three blocks a row, so int4 zero points leave half a byte of padding.
  await train({ ...text, task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=48,heads=2,ff=96,ctx=64', vocabSize: 400, out: spam48, dataOptions: { limit: 128 } });
  await train({ ...text, task: 'classify', data: 'spam', model: 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', vocabSize: 400, out: spam, dataOptions: { limit: 128 } });
  await train({ epochs: 2, batch: 16, lr: 1e-2, task: 'lm', data: 'moby-dick', model: 'transformer:layers=2,dim=32,heads=2,ff=64,ctx=64', out: moby, dataOptions: { limit: 40_000 } });
  await train({ task: 'image', data: 'fashion-mnist', model: 'cnn:channels=4-8,hidden=16', epochs: 1, batch: 32, lr: 3e-3, out: mnist, dataOptions: { limit: 256 } });
  const spamFile = path.join(spam, 'model.onnx'), mnistFile = path.join(mnist, 'model.onnx'), decoder = path.join(moby, 'decoder.onnx');
  return {
    spam: spamFile,
    'spam int8': compressed(spamFile, 'int8'),
    'spam int4': compressed(spamFile, 'int4'),
    'spam int4, zero points, odd blocks': compressed(path.join(spam48, 'model.onnx'), 'int4', true),
    moby: path.join(moby, 'model.onnx'),
    'moby decoder': decoder,
    'moby decoder int8': compressed(decoder, 'int8'),
    'moby decoder int4': compressed(decoder, 'int4'),
    mnist: mnistFile,
    'mnist int8': compressed(mnistFile, 'int8'),
    'mnist int4': compressed(mnistFile, 'int4'),
  };
}
