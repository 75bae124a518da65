// What every stage of the pipeline reads: the resolved options, the recipe, where things go, and how
// progress is told.
import path from 'node:path';
import { statSync, readdirSync } from 'node:fs';
import type { Task } from '../src/format/metadata.js';
import type { LoadOptions } from '../src/data/datasets.js';
import type { Device } from '../src/onnx/runtime.js';
import type { TrainEvent } from '../src/train/job.js';
import { BUILTIN_DATASETS } from '../src/data/datasets.js';
import { digestOf, fileDigest, Interrupted } from './steps.js';
import type { Recipe } from './recipes.js';

export interface PipelineOptions {
  /** A built-in data set or a path (JSONL/CSV, text, IDX). */
  data: string;
  /** Default: what the data is for (src/data/datasets.ts taskOfData). */
  task?: Task;
  /** Distill from this model file instead of training a teacher. */
  teacherModel?: string;
  /** Distill from this running teacher server instead (ws://...). */
  teacherUrl?: string;
  token?: string;
  /** Override the recipe's teacher and student specs. */
  teacherSpec?: string;
  student?: string;
  /** Sizes that finish in minutes. */
  quick?: boolean;
  out: string;
  /** Use at most N examples per split (characters for corpora). */
  limit?: number;
  seed?: number;
  device?: Device;
  threads?: number;
  signal?: AbortSignal;
  onEvent?: (event: PipelineEvent) => void;
}

export const STAGES = ['teacher', 'serve', 'distill', 'compress', 'evaluate', 'report'] as const;
export type StageName = (typeof STAGES)[number];

export type PipelineEvent =
  | { type: 'stage'; stage: StageName; status: 'started' }
  | { type: 'stage'; stage: StageName; status: 'done' | 'skipped'; line: string; seconds: number }
  | { type: 'train'; stage: StageName; run: string; event: TrainEvent }
  | { type: 'progress'; stage: StageName; done: number; total: number; what: string };

export interface Context {
  options: PipelineOptions;
  task: Task;
  recipe: Recipe;
  out: string;
  dataOptions: LoadOptions;
  /** What the data is: a built-in name, or the digest of the user's file(s). */
  dataDigest: string;
  /** Part of every stage's digest: records name files by path, so a copied run directory starts afresh. */
  where: string;
  emit(event: PipelineEvent): void;
  /** Throws Interrupted once the run was asked to stop. */
  checkStop(): void;
  dir(stage: StageName, ...parts: string[]): string;
}

/** A data set's identity for step digests: its name when built in, else the bytes of its file(s). */
export function dataIdentity(data: string): string {
  if ((BUILTIN_DATASETS as readonly string[]).includes(data)) return data;
  if (!statSync(data).isDirectory()) return fileDigest(data);
  return digestOf(readdirSync(data).sort().map((f) => [f, fileDigest(path.join(data, f))]));
}

export function makeContext(options: PipelineOptions, task: Task, recipe: Recipe): Context {
  const emit = options.onEvent ?? (() => {});
  const dataOptions: LoadOptions = { ...recipe.dataOptions, ...(options.limit ? { limit: options.limit } : {}) };
  return {
    options, task, recipe, out: options.out, dataOptions, dataDigest: dataIdentity(options.data), where: path.resolve(options.out), emit,
    checkStop: () => { if (options.signal?.aborted) throw new Interrupted('interrupted'); },
    dir: (stage, ...parts) => path.join(options.out, stage, ...parts),
  };
}
