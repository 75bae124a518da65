export { compressModel, type CompressOptions, type CompressResult, type CompressReport } from './compress.js';
export { pruneMagnitude, magnitudeThreshold, prunableWeights, type PruneReport } from './prune/magnitude.js';
export { pruneStructured, parseStructuredTargets, StructuredPruneError, type StructuredTargets, type StructuredReport } from './prune/structured.js';
export { quantizeGraph, fakeQuantPlan, SCHEMES, type SchemeName, type QuantizeReport, type FakeQuantOptions } from './quantize/schemes.js';
export { keptWeights, type QuantScheme, type WeightPlan, type KeepRule } from './quantize/scheme.js';
export { quantizePerColumn, quantizePerRow } from './quantize/int8.js';
export { quantizeInt4, dequantizeInt4, quantizeTableInt4, dequantizeTableInt4, type Int4Weight } from './quantize/int4.js';
export { matmulSites, gatherSites } from './weights.js';
export { sensitivityScan, type SensitivityRow, type SensitivityOptions } from './sensitivity.js';
