// What the pipeline trains for each kind of data, full-size or --quick: the teacher, the student
// (and its --no-teacher twin), how structured pruning shrinks the student, and the bounds a
// compressed student must stay within (the compression issue's targets).
import type { Task } from '../src/format/metadata.js';
import type { LoadOptions } from '../src/data/datasets.js';
import type { ArchConfig } from '../src/nn/models.js';
import type { StructuredTargets } from '../src/nn/kinds/index.js';

export interface TrainRecipe {
  /** A preset or spec (src/nn/spec.ts). */
  spec: string;
  epochs: number;
  lr: number;
  batch: number;
}

export interface Recipe {
  task: Task;
  teacher: TrainRecipe;
  student: TrainRecipe;
  /** Epochs of distillation that recover a structured-pruned student, and of int4 QAT. */
  recoveryEpochs: number;
  /** Limits of the data (--quick reads at most this much of a large corpus). */
  dataOptions: LoadOptions;
  /** Timed runs per file and runtime for the p50 latency (after 5 warm-up runs). */
  latencyRuns: number;
}

const RECIPES: Record<Task, { quick: Omit<Recipe, 'task'>; full: Omit<Recipe, 'task'> }> = {
  classify: {
    quick: {
      teacher: { spec: 'transformer:layers=2,dim=256,heads=4,ff=1024,ctx=256', epochs: 2, lr: 1e-3, batch: 32 },
      student: { spec: 'transformer:layers=2,dim=48,heads=2,ff=192,ctx=256', epochs: 3, lr: 1e-3, batch: 32 },
      recoveryEpochs: 1, dataOptions: {}, latencyRuns: 30,
    },
    full: {
      teacher: { spec: 'teacher-base', epochs: 3, lr: 5e-4, batch: 32 },
      student: { spec: 'student-tiny', epochs: 3, lr: 1e-3, batch: 32 },
      recoveryEpochs: 2, dataOptions: {}, latencyRuns: 200,
    },
  },
  image: {
    quick: {
      teacher: { spec: 'cnn-small', epochs: 2, lr: 1e-3, batch: 32 },
      student: { spec: 'student-image', epochs: 2, lr: 1e-3, batch: 32 },
      recoveryEpochs: 1, dataOptions: {}, latencyRuns: 30,
    },
    full: {
      teacher: { spec: 'cnn-large', epochs: 5, lr: 1e-3, batch: 32 },
      student: { spec: 'student-image', epochs: 4, lr: 1e-3, batch: 32 },
      recoveryEpochs: 2, dataOptions: {}, latencyRuns: 200,
    },
  },
  lm: {
    quick: {
      teacher: { spec: 'char-lm', epochs: 2, lr: 2e-3, batch: 32 },
      student: { spec: 'student-lm-tiny', epochs: 2, lr: 2e-3, batch: 32 },
      recoveryEpochs: 1, dataOptions: { limit: 1_000_000 }, latencyRuns: 30,
    },
    full: {
      teacher: { spec: 'teacher-lm', epochs: 4, lr: 1e-3, batch: 32 },
      student: { spec: 'student-lm-tiny', epochs: 8, lr: 2e-3, batch: 32 },
      recoveryEpochs: 2, dataOptions: {}, latencyRuns: 200,
    },
  },
};

export function recipeFor(task: Task, quick: boolean): Recipe {
  const r = RECIPES[task][quick ? 'quick' : 'full'];
  return { task, ...r, teacher: { ...r.teacher }, student: { ...r.student }, dataOptions: { ...r.dataOptions } };
}

/** About half of each unit: heads, FFN neurons, a quarter of the residual width; channels and dense units. */
export function structuredTargets(arch: ArchConfig): StructuredTargets {
  const half = (n: number) => Math.max(1, Math.floor(n / 2));
  switch (arch.kind) {
    case 'transformer':
    case 'vit': {
      const heads = half(arch.heads);
      return { heads, ff: half(arch.ff), dim: Math.max(heads, Math.round((arch.dim * 0.75) / heads) * heads) };
    }
    case 'cnn': return arch.hidden > 0 ? { channels: arch.channels.map(half), hidden: [half(arch.hidden)] } : { channels: arch.channels.map(half) };
    case 'mlp': return { hidden: arch.hidden.map(half) };
  }
}

/**
 * How much a compressed student may lose against its float self, by what it became (the compression
 * issue's targets): accuracy points for classifiers, a share of the validation loss for language models.
 */
export const TOLERANCE = {
  int8: { points: 0.5, lossShare: 0.02 },
  int4: { points: 1.5, lossShare: 0.05 },
  structured: { points: 1, lossShare: 0.02 },
} as const;

/** Whether `candidate` (validation accuracy, or loss for a language model) is within `tolerance` of `reference`. */
export function withinTolerance(task: Task, candidate: number, reference: number, tolerance: { points: number; lossShare: number }): boolean {
  return task === 'lm' ? candidate <= reference * (1 + tolerance.lossShare) : candidate >= reference - tolerance.points / 100;
}
