// minnow/runtime: load a shipped model and run it, in browsers, on phones and on Linux boards.
export { ModelLoadError, type LoadOptions, type ModelSource, type OrtLike } from './load.js';
// The runtime's Model is the shared one (minnow/micro's) that can also learn on the device.
export { loadModel, AdaptableModel as Model } from './adaptable.js';
export { RuntimeInputError, type Prediction, type ModelInfo } from './model.js';
export { readModelFile, weightsSha256, ModelFormatError } from './model-file.js';
export { pickToken, type GenerateOptions } from './generate.js';
export type { FinetuneExample, FinetuneOptions, FinetuneProgress, FinetuneReport, Score } from './finetune.js';
