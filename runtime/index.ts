// minnow/runtime: load a shipped model and run it, in browsers, on phones and on Linux boards.
export { loadModel, ModelLoadError, type LoadOptions, type ModelSource, type OrtLike } from './load.js';
export { Model, RuntimeInputError, type Prediction, type ModelInfo } from './model.js';
export { readModelFile, weightsSha256, ModelFormatError } from './model-file.js';
export { pickToken, type GenerateOptions } from './generate.js';
