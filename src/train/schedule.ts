// Schedules as pure functions of the step, so that a resumed run gets the same learning rates and
// sparsity targets.

export interface ScheduleConfig {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Floor as a fraction of the peak (default 0.1). */
  minRatio?: number;
}

/** Linear warm-up to `peak`, then cosine decay to `peak * minRatio` at `totalSteps`. */
export function warmupCosine(step: number, config: ScheduleConfig): number {
  const { peak, warmupSteps, totalSteps } = config;
  const floor = peak * (config.minRatio ?? 0.1);
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / span);
  return floor + 0.5 * (peak - floor) * (1 + Math.cos(Math.PI * progress));
}

/** Magnitude pruning during training: the target sparsity, ramped between two fractions of the run. */
export interface PruneSchedule {
  sparsity: number;
  /** Fractions of the run where pruning starts and reaches the target (default 0.1 and 0.7). */
  start?: number;
  end?: number;
}

/** Cubic ramp (Zhu & Gupta 2017): fast at first, gentle near the target. */
export function sparsityAt(step: number, totalSteps: number, schedule: PruneSchedule): number {
  const t0 = Math.floor((schedule.start ?? 0.1) * totalSteps), t1 = Math.max(t0 + 1, Math.floor((schedule.end ?? 0.7) * totalSteps));
  if (step < t0) return 0;
  const progress = Math.min(1, (step - t0) / (t1 - t0));
  return schedule.sparsity * (1 - (1 - progress) ** 3);
}
