export { compressModel, COMPRESSION_META, type CompressOptions, type CompressResult } from './compress.js';
export { quantizeInt8, quantizePerColumn, quantizePerRow, type Int8Options, type QuantizeReport } from './quantize-int8.js';
export { quantizeGraphInt4, quantizeInt4, dequantizeInt4, type Int4Options, type Int4Weight } from './quantize-int4.js';
export { matmulSites, gatherSites } from './weights.js';
