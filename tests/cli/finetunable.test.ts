// `--finetunable` from the command line: `minnow train` writes a model that carries its training step,
// `minnow compress` keeps that part float32 through int8 and rebuilds the step, and the runtime then
// fine-tunes the file; a part the model lacks is one line and exit code 2, before any training.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { decodeModel } from '../../src/onnx/codec.js';
import { FINETUNE_META, type FinetuneSpec } from '../../src/format/finetune.js';
import { loadModel } from '../../runtime/index.js';
import { examples } from '../runtime/finetune-fixtures.js';

const root = path.resolve(__dirname, '../..');
const minnow = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 180_000 });

describe('--finetunable', () => {
  it('train writes the step, compress keeps it through int8, and the runtime fine-tunes the result', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'minnow-finetunable-'));
    const r = minnow('train', '--task', 'classify', '--data', 'spam', '--model', 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', '--vocab-size', '400',
      '--limit', '128', '--epochs', '1', '--finetunable', 'head', '--out', path.join(out, 'run'));
    expect(r.status, r.stderr).toBe(0);
    const trained = decodeModel(readFileSync(path.join(out, 'run/model.onnx'))).graph;
    expect((JSON.parse(trained.metadata.get(FINETUNE_META.spec)!) as FinetuneSpec).params).toEqual(['head.weight', 'head.bias']);

    const file = path.join(out, 'int8.onnx');
    const c = minnow('compress', path.join(out, 'run/model.onnx'), '--quantize', 'int8', '--out', file);
    expect(c.status, c.stderr).toBe(0);
    const { graph } = decodeModel(readFileSync(file));
    expect(JSON.parse(graph.metadata.get('minnow.compression')!)).toMatchObject({ quantize: 'int8', finetunable: 'head' });
    expect(graph.initializers.get('head.weight')!.dtype).toBe('float32');
    const inspect = minnow('inspect', file);
    expect(inspect.status, inspect.stderr).toBe(0);
    const summary = JSON.parse(inspect.stdout).metadata;
    expect(summary[FINETUNE_META.spec]).toMatchObject({ part: 'head', params: 2, state: 4, features: ['finetune.in.0'] });
    expect(summary[FINETUNE_META.graph].nodes).toBeGreaterThan(10);
    const model = await loadModel(file, { ort: ortNode as never });
    const report = await model.finetune(examples, { epochs: 2, heldOut: 0 });
    expect([report.part, report.steps]).toEqual(['head', 4]);

    // Another part from the float model; not from the int8 file, whose block is int8 now.
    const other = minnow('compress', path.join(out, 'run/model.onnx'), '--quantize', 'int8', '--finetunable', 'last:1', '--out', path.join(out, 'last.onnx'));
    expect(other.status, other.stderr).toBe(0);
    expect((JSON.parse(decodeModel(readFileSync(path.join(out, 'last.onnx'))).graph.metadata.get(FINETUNE_META.spec)!) as FinetuneSpec).part).toBe('last:1');
    const late = minnow('compress', file, '--finetunable', 'last:1', '--out', path.join(out, 'late.onnx'));
    expect([late.status, late.stderr.trim()]).toEqual([2, "minnow: weight 'layers.0.attn.qkv.weight.int8' is int8 in this file: compress the float model with --finetunable last:1 so that the part stays float32"]);
  });

  it('refuses a part the model lacks, a language model, and all with --quantize, in one line with exit code 2', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'minnow-finetunable-'));
    const lm = minnow('train', '--task', 'lm', '--data', 'moby-dick', '--limit', '2000', '--finetunable', 'head', '--out', path.join(out, 'lm'));
    expect([lm.status, lm.stderr.trim().split('\n').length]).toEqual([2, 1]);
    expect(lm.stderr).toMatch(/fine-tunes classifiers/);
    const blocks = minnow('train', '--task', 'classify', '--data', 'spam', '--model', 'transformer:layers=1,dim=32,heads=2,ff=64,ctx=64', '--vocab-size', '400', '--limit', '64',
      '--finetunable', 'last:2', '--out', path.join(out, 'two'));
    expect([blocks.status, blocks.stderr.trim().split('\n').at(-1)]).toEqual([2, 'minnow: --finetunable last:2: the model has 1 Transformer block(s)']);
    const bad = minnow('train', '--task', 'classify', '--data', 'spam', '--finetunable', 'tail', '--out', path.join(out, 'x'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--finetunable must be head, last:N/);
  });
});
