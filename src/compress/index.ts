export { compressModel, type CompressOptions, type CompressResult, type CompressReport } from './compress.js';
export { pruneMagnitude, magnitudeThreshold, prunableWeights, type PruneReport } from './prune/magnitude.js';
export { pruneStructured, parseStructuredTargets, StructuredPruneError, type StructuredTargets, type StructuredReport } from './prune/structured.js';
export { quantizeInt8, quantizePerColumn, quantizePerRow, type Int8Options, type QuantizeReport } from './quantize/int8.js';
export { quantizeGraphInt4, quantizeInt4, dequantizeInt4, quantizeTableInt4, dequantizeTableInt4, type Int4Options, type Int4Weight } from './quantize/int4.js';
export { matmulSites, gatherSites } from './weights.js';
export { sensitivityScan, type SensitivityRow, type SensitivityOptions } from './sensitivity.js';
