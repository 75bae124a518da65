export { Trainer, type TrainerOptions, type ModelBuilder, type StepResult, type EvalResult, type Batch } from './trainer.js';
export { train, type TrainJobOptions, type TrainReport, type TrainEvent, type Metrics } from './job.js';
export { crossEntropy, type CrossEntropyOptions } from './losses.js';
export { appendOptimizer, clipByGlobalNorm, type OptimizerConfig, type AdamWConfig, type SgdConfig } from './optimizers.js';
export { warmupCosine, type ScheduleConfig } from './schedule.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint } from './checkpoint.js';
export { evaluateModelFile, inspectModelFile, type ModelSummary } from './evaluate.js';
