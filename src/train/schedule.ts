// Learning-rate schedules as pure functions of the step, so that a resumed run gets the same rates.

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
