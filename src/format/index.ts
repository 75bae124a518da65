// The one definition of a minnow model file (docs/model-format.md), with no dependency on Node or on
// the trainer: the runtime imports it as the trainer does.
export { META, FORMAT_VERSION, TASKS, metaValue, labelsOf, preprocessingOf, type Task, type Metadata, type Preprocessing, type TextPreprocessing, type ImagePreprocessing } from './metadata.js';
export { INPUT, OUTPUT, pastKeyName, pastValueName, presentKeyName, presentValueName, cachedLayers } from './names.js';
export { weightsDigest, webCryptoSha256, toHex, type Sha256, type StoredWeight } from './digest.js';
export { tokenizerJsonOf, gzipTokenizer } from './tokenizer.js';
export { Rng, mulberry32 } from './rng.js';
export { toHalf, fromHalf, toHalfArray, fromHalfArray } from './fp16.js';
