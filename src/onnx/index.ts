export { Graph, f, floats, FloatAttr, FloatsAttr, DEFAULT_OPSET, type AttrValue, type Dim, type Node, type ValueType } from './graph.js';
export { Tensor, type DType, type TypedArray } from './tensor.js';
export { encodeModel, decodeModel, IR_VERSION } from './codec.js';
export { readOnnxFile, decodeOnnx, ModelFileError } from './model-file.js';
export { graphWeightsDigest, stampWeightsDigest } from './digest.js';
export { checkGraph, topologicalOrder, GraphCheckError } from './check.js';
export { createSession, run, parseDevice, checkDevice, DeviceError, DEVICES, type Device, type Feeds } from './runtime.js';
export { supportedOps, broadcastShapes } from './infer.js';
