// Teachers exported from PyTorch (tests/fixtures/foreign): served with their own tokenizer.json,
// the inputs they need beyond ids and mask filled by the server, students adopting the tokenizer,
// and the one-line refusals of what cannot work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { serveTeacher, type TeacherServer } from '../../teacher/server.js';
import { tokenizerFromJSON, trainBpe } from '../../src/data/tokenizers/index.js';
import { distill } from '../../student/distill.js';
import { readOnnxFile } from '../../src/onnx/model-file.js';
import { tokenizerJsonOf } from '../../src/format/tokenizer.js';
import { RawClient } from '../helpers/teacher-fixture.js';

const root = path.resolve(__dirname, '../..');
const fixtures = path.join(root, 'tests/fixtures/foreign');
const bertFile = path.join(fixtures, 'bert.onnx');
const gptFile = path.join(fixtures, 'gpt.onnx');
const tokenizerFile = path.join(fixtures, 'bert-tokenizer.json');
const tokenizerText = readFileSync(tokenizerFile, 'utf8');
const tokenizer = tokenizerFromJSON(tokenizerText);
const tmp = (p = 'minnow-foreign-') => mkdtempSync(path.join(tmpdir(), p));

/** The CLI as a child process without blocking this one (whose teacher it may talk to). */
function cliAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
}

/** The model run directly by onnxruntime with every input given, for comparison. */
async function direct(file: string, feeds: Record<string, BigInt64Array>, dims: number[], output = 'logits'): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const tensors = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('int64', v, dims)]));
  const out = await session.run(tensors, [output]);
  await session.release();
  return out[output]!.data as Float32Array;
}

function logSoftmax(logits: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / width; r++) {
    const row = [...logits.subarray(r * width, (r + 1) * width)];
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    out.push(...row.map((v) => v - lse));
  }
  return out;
}

describe('a BERT-style classifier exported by PyTorch', () => {
  let server: TeacherServer;
  beforeAll(async () => {
    server = await serveTeacher({ model: bertFile, port: 0, logger: false, tokenizer: tokenizerText, labels: ['ham', 'spam'] });
  });
  afterAll(async () => { await server?.close(); });

  it('info carries the tokenizer, labels and limits; token_type_ids is filled, not asked for', async () => {
    const c = await RawClient.open(server.url);
    const info = await c.hello() as unknown as Record<string, unknown>;
    c.close();
    expect(info).toMatchObject({ type: 'info', task: 'classify', labels: ['ham', 'spam'], vocab_size: 2, tokenizer: tokenizerText });
    expect((info.inputs as { name: string }[]).map((s) => s.name)).toEqual(['input_ids', 'attention_mask']);
    expect(JSON.parse(info.preprocessing as string)).toEqual({ kind: 'text', max_length: 32, pad_id: 0, truncation: 'right' });
    expect((info.limits as { max_seq: number }).max_seq).toBe(32);
  });

  it('answers what the model gives with token_type_ids of zeros', async () => {
    const a = tokenizer.encode('Win a FREE cruise now, click here', 32);
    const b = tokenizer.encode('Meeting moved to 3pm', 32);
    expect(a[0]).toBe(2); // [CLS]
    expect(a.at(-1)).toBe(3); // [SEP]
    const seq = Math.max(a.length, b.length);
    const idsData = new BigInt64Array(2 * seq), mask = new BigInt64Array(2 * seq);
    [a, b].forEach((row, r) => row.forEach((id, t) => { idsData[r * seq + t] = BigInt(id); mask[r * seq + t] = 1n; }));
    const c = await RawClient.open(server.url);
    await c.hello();
    c.send({ type: 'infer', id: 1, version: 1, temperature: 1, inputs: { input_ids: { dtype: 'int64', dims: [2, seq], data: idsData }, attention_mask: { dtype: 'int64', dims: [2, seq], data: mask } } });
    const soft = await c.next() as { type: string; log_probs: Float32Array };
    c.close();
    expect(soft.type).toBe('soft');
    const want = logSoftmax(await direct(bertFile, { input_ids: idsData, attention_mask: mask, token_type_ids: new BigInt64Array(2 * seq) }, [2, seq]), 2);
    [...soft.log_probs].forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
  });

  it('a student adopts the teacher\'s WordPiece tokenizer, and the preset its 32 positions', async () => {
    const out = tmp();
    const report = await distill({
      data: 'spam', teachers: [server.url], epochs: 1, batch: 16, lr: 3e-3, seed: 1, dataOptions: { limit: 64 }, cacheDir: tmp('minnow-cache-'), out,
    });
    expect(report.teacher_id).toBe(server.teacherId);
    expect(report.model).toBe('transformer:layers=2,dim=64,heads=2,ff=256,ctx=32');
    const student = readOnnxFile(path.join(out, 'model.onnx')).graph;
    expect(JSON.parse(tokenizerJsonOf(student.metadata)!).model.type).toBe('WordPiece');
    expect(student.initializers.get('tok_emb.weight')?.dims[0] ?? student.initializers.get([...student.initializers.keys()].find((k) => /emb/.test(k))!)!.dims[0]).toBe(tokenizer.vocabSize);
  });

  it('minnow teacher label fills the cache, and minnow distill --offline trains from it alone', async () => {
    const cache = tmp('minnow-cache-');
    const labelled = await cliAsync('teacher', 'label', '--teacher', server.url, '--data', 'spam', '--limit', '48', '--cache', cache);
    expect(labelled.status, labelled.stderr).toBe(0);
    const report = JSON.parse(labelled.stdout);
    expect(report).toMatchObject({ teacher_id: server.teacherId, task: 'classify', temperature: 1, top_k: 0 });
    expect(report.labelled + report.cached).toBe(report.examples.train + report.examples.validation);
    expect(labelled.stderr).toMatch(/labelled \d+\/\d+ examples/);
    const trained = await cliAsync('distill', '--offline', '--teacher-id', server.teacherId, '--data', 'spam', '--limit', '48', '--cache', cache, '--out', tmp());
    expect(trained.status, trained.stderr).toBe(0);
    expect(JSON.parse(trained.stdout).distillation).toMatchObject({ cache_misses: 0 });
    const none = await cliAsync('teacher', 'label', '--data', 'spam');
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toBe('minnow: give --teacher ws://HOST:PORT (repeat it for each replica)');
  });

  it('--vocab-prune on a classifier: the ids are mapped, its soft labels over classes are not', async () => {
    const report = await distill({
      data: 'spam', teachers: [server.url], epochs: 1, batch: 16, lr: 3e-3, seed: 1, dataOptions: { limit: 64 }, cacheDir: tmp('minnow-cache-'), out: tmp(), vocabPrune: true,
    });
    const prune = report.vocab_prune as { teacher_vocab: number; student_vocab: number };
    expect(prune.teacher_vocab).toBe(tokenizer.vocabSize);
    expect(prune.student_vocab).toBeLessThan(tokenizer.vocabSize);
    expect((report.metrics as { accuracy: number }).accuracy).toBeGreaterThan(0.5);
    expect(report.validation.teacher_agreement).toBeGreaterThan(0.5);
  });
});

describe('a GPT-style decoder exported by PyTorch', () => {
  let server: TeacherServer;
  beforeAll(async () => {
    server = await serveTeacher({ model: gptFile, port: 0, logger: false, tokenizer: tokenizerText });
  });
  afterAll(async () => { await server?.close(); });

  it('takes input_ids alone and fills position_ids 0..seq-1', async () => {
    const c = await RawClient.open(server.url);
    const info = await c.hello() as unknown as Record<string, unknown>;
    expect(info).toMatchObject({ task: 'lm', vocab_size: 300 });
    expect((info.inputs as { name: string }[]).map((s) => s.name)).toEqual(['input_ids']);
    const seq = 6;
    const idsData = BigInt64Array.from([2, 40, 41, 42, 43, 3], BigInt);
    c.send({ type: 'infer', id: 1, version: 1, temperature: 1, top_k: 5, inputs: { input_ids: { dtype: 'int64', dims: [1, seq], data: idsData } } });
    const soft = await c.next() as { type: string; log_probs: Float32Array; indices: Int32Array | Uint16Array };
    c.close();
    expect(soft.type).toBe('soft');
    const want = logSoftmax(await direct(gptFile, { input_ids: idsData, position_ids: BigInt64Array.from([0, 1, 2, 3, 4, 5], BigInt) }, [1, seq]), 300);
    // The top-1 token and its log-prob at each position.
    for (let t = 0; t < seq; t++) {
      const row = want.slice(t * 300, (t + 1) * 300);
      const best = row.indexOf(Math.max(...row));
      expect(Number(soft.indices[t * 5])).toBe(best);
      expect(soft.log_probs[t * 5]).toBeCloseTo(row[best]!, 4);
    }
  });

  it('--vocab-prune: the student keeps the tokens of its training split, and reports the parameters saved', async () => {
    const common = { data: 'moby-dick', teachers: [server.url], epochs: 1, batch: 8, seed: 1, dataOptions: { limit: 6000 }, cacheDir: tmp('minnow-cache-') };
    const full = await distill({ ...common, out: tmp() });
    const out = tmp();
    const pruned = await distill({ ...common, out, vocabPrune: true });
    const prune = pruned.vocab_prune as { teacher_vocab: number; occurring: number; student_vocab: number; params_saved: number };
    expect(prune.teacher_vocab).toBe(300);
    expect(prune.occurring).toBeLessThanOrEqual(prune.student_vocab);
    expect(prune.student_vocab).toBeLessThan(300);
    expect(prune.params_saved).toBe(full.params - pruned.params);
    expect(prune.params_saved).toBeGreaterThan(0);
    const shipped = tokenizerFromJSON(readFileSync(path.join(out, 'tokenizer.json'), 'utf8'));
    expect(shipped.vocabSize).toBe(prune.student_vocab);
    expect(tokenizerJsonOf(readOnnxFile(path.join(out, 'model.onnx')).graph.metadata)).toBe(JSON.stringify(shipped.toJSON()));
    // The cache keeps the teacher's ids, so the unpruned run's soft labels served the pruned one.
    expect(Number.isFinite((pruned.metrics as { val_loss: number }).val_loss)).toBe(true);
    expect((pruned.distillation as { cache_hits: number }).cache_hits).toBeGreaterThan(0);
    // Resumed and offline, the run cuts the same vocabulary and maps the same soft labels.
    const resumed = tmp();
    await distill({ ...common, vocabPrune: true, maxSteps: 3, out: resumed });
    const again = await distill({ ...common, vocabPrune: true, resume: resumed, out: resumed });
    const offline = await distill({ ...common, teachers: undefined, offline: true, vocabPrune: true, out: tmp() });
    for (const r of [again, offline]) {
      expect(r.vocab_prune).toEqual(pruned.vocab_prune);
      expect(r.metrics).toEqual(pruned.metrics);
    }
  });
});

describe('clear refusals (exit 2, one line)', () => {
  it('an output that is not logits, naming its shape', () => {
    const r = cli('teacher', 'serve', bertFile, '--tokenizer', tokenizerFile, '--output', 'attentions', '--port', '0');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/output 'attentions' is \[\w+, \w+, \w+, \w+\]; a teacher's logits are \[batch, classes\] or \[batch, seq, vocab\]/);
  });
  it('a tokenizer with more tokens than the embedding has rows', () => {
    const big = path.join(tmp(), 'tokenizer.json');
    writeFileSync(big, JSON.stringify(trainBpe('the cat sat on the mat, the dog ate the rat. '.repeat(50) + 'abcdefghijklmnopqrstuvwxyz'.repeat(20), { vocabSize: 400 })));
    const vocab = tokenizerFromJSON(readFileSync(big, 'utf8')).vocabSize;
    expect(vocab).toBeGreaterThan(300);
    const r = cli('teacher', 'serve', bertFile, '--tokenizer', big, '--port', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`the tokenizer has ${vocab} tokens but the model's embedding has 300 rows`);
  });
  it('distill --vocab-prune without a teacher\'s tokenizer to cut', () => {
    const r = cli('distill', '--no-teacher', '--task', 'lm', '--data', 'moby-dick', '--vocab-prune', '--out', tmp());
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('minnow: --vocab-prune cuts a teacher\'s tokenizer to the training split: distill from a teacher that serves one');
  });
  it('a missing tokenizer file, and one that is not a tokenizer.json', () => {
    let r = cli('teacher', 'serve', bertFile, '--tokenizer', '/nonexistent/tokenizer.json', '--port', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--tokenizer \/nonexistent\/tokenizer.json: no such file/);
    const notTok = path.join(tmp(), 'x.json');
    writeFileSync(notTok, '{"vocab": {}}');
    r = cli('teacher', 'serve', bertFile, '--tokenizer', notTok, '--port', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not a Hugging Face tokenizer.json/);
  });
  it('--task lm for a classifier\'s logits', () => {
    const r = cli('teacher', 'serve', bertFile, '--tokenizer', tokenizerFile, '--task', 'lm', '--port', '0');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--task lm needs 'logits' as \[batch, seq, vocab\], but it is \[batch, 2\]/);
  });
  it('a student facing a text teacher without a tokenizer stops before training, saying what to pass', async () => {
    const server = await serveTeacher({ model: bertFile, port: 0, logger: false });
    try {
      await expect(distill({ data: 'spam', teachers: [server.url], epochs: 1, dataOptions: { limit: 32 }, cacheDir: tmp('minnow-cache-'), out: tmp() }))
        .rejects.toThrow(/serves a text model without a tokenizer.*minnow teacher serve MODEL --tokenizer tokenizer.json/);
    } finally {
      await server.close();
    }
  });
});
