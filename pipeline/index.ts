// The whole job in one call: teacher, serve, distill, compress, evaluate, report.
export { runPipeline } from './run.js';
export { STAGES, type PipelineOptions, type PipelineEvent, type StageName } from './context.js';
export { recipeFor, type Recipe, type TrainRecipe } from './recipes.js';
export type { PipelineReport, StageSummary } from './report.js';
