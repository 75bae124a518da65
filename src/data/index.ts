export { loadDataset, loadCorpus, stripHeaders, parseJsonlFile, parseCsvFile, DataError, BUILTIN_DATASETS, FASHION_MNIST_DIR, type Dataset, type TextExample, type ImageExample, type LoadOptions } from './datasets.js';
export { splitOf, fnv1a, SPLITS, type Split } from './split.js';
export { parseIdx, readIdx } from './idx.js';
export { TextClassificationSource, LanguageModelSource, ImageSource, iterateBatches, epochOrder, type BatchSource } from './batching.js';
export * from './tokenizers/index.js';
