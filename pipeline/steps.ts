// Work the pipeline does once: a step (a stage, or a part of one) runs in its own directory and
// leaves a record with the digest of its inputs and options and the files it made. Run again with
// the same digest and those files in place, it is skipped and its record's result returned; after an
// interruption (Ctrl-C or SIGKILL), or with a file gone, it runs again with `resume` set, so training
// picks up from its last checkpoint; with another digest, its directory starts afresh.
import { existsSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../src/util/atomic-write.js';
import { sha256 } from '../src/util/sha256.js';
import { loadCheckpoint } from '../src/train/checkpoint.js';

const DONE = 'step.json';
const STARTED = 'started.json';

export interface StepRecord<T> { digest: string; result: T; outputs: string[]; seconds: number; finished: string }

/** The sha256 of what a step depends on (its inputs' digests and its options), as JSON. */
export function digestOf(inputs: unknown): string {
  return sha256([new TextEncoder().encode(JSON.stringify(inputs))]);
}

/** sha256 of a file's bytes. */
export function fileDigest(file: string): string {
  return sha256([readFileSync(file)]);
}

function readJson<T>(file: string): T | undefined {
  try { return JSON.parse(readFileSync(file, 'utf8')) as T; } catch { return undefined; }
}

/** The record of a step done with this digest whose files are all still there, if there is one. */
function doneRecord<T>(dir: string, digest: string): StepRecord<T> | undefined {
  const record = readJson<StepRecord<T>>(path.join(dir, DONE));
  return record?.digest === digest && (record.outputs ?? []).every((f) => existsSync(f)) ? record : undefined;
}

export interface StepRun<T> { result: T; skipped: boolean; seconds: number }

/** Runs `work` in `dir` unless a record with the same digest says it is done; `outputs` names the files it makes. */
export async function step<T>(dir: string, inputs: unknown, work: (resume: boolean) => Promise<T>, outputs: (result: T) => string[] = () => []): Promise<StepRun<T>> {
  const digest = digestOf(inputs);
  const done = doneRecord<T>(dir, digest);
  if (done) return { result: done.result, skipped: true, seconds: done.seconds };
  const started = readJson<{ digest: string }>(path.join(dir, STARTED));
  const resume = started?.digest === digest;
  if (!resume && existsSync(dir)) await fs.rm(dir, { recursive: true, force: true });
  await writeFileAtomic(path.join(dir, STARTED), JSON.stringify({ digest }));
  const t0 = Date.now();
  const result = await work(resume);
  const seconds = (Date.now() - t0) / 1000;
  const record: StepRecord<T> = { digest, result, outputs: outputs(result), seconds, finished: new Date().toISOString() };
  await writeFileAtomic(path.join(dir, DONE), JSON.stringify(record, null, 2) + '\n');
  return { result, skipped: false, seconds };
}

/**
 * The training run in `run` to resume, when this step resumes and the run left a checkpoint. The
 * metrics an interrupted attempt wrote past its checkpoint are dropped (all of them when it left
 * none), so that the resumed run's curves hold each step once.
 */
export async function resumable(run: string, resume: boolean): Promise<string | undefined> {
  const metrics = path.join(run, 'metrics.jsonl');
  if (!resume || !existsSync(path.join(run, 'checkpoint'))) {
    rmSync(metrics, { force: true });
    return undefined;
  }
  const { step } = await loadCheckpoint(path.join(run, 'checkpoint'));
  if (existsSync(metrics)) {
    // A line torn by SIGKILL is dropped too.
    const before = (line: string) => { try { return (JSON.parse(line) as { step: number }).step <= step; } catch { return false; } };
    const rows = readFileSync(metrics, 'utf8').split('\n').filter((line) => line && before(line));
    writeFileSync(metrics, rows.map((r) => r + '\n').join(''));
  }
  return run;
}

/** A run stopped by Ctrl-C (exit code 130): its steps resume when the pipeline runs again. */
export class Interrupted extends Error {
  override name = 'Interrupted';
}
