// The op table: every ONNX op minnow builds, infers shapes for or differentiates, by family. A new
// op is an entry in its family's file (shape rule, VJP and builder side by side); a new family is one
// file plus a line here.
import type { Node } from '../graph.js';
import type { OpDef, OpTable } from './op.js';
import { elementwiseOps } from './elementwise.js';
import { matmulOps } from './matmul.js';
import { reduceOps } from './reduce.js';
import { softmaxOps } from './softmax.js';
import { normalizationOps } from './normalization.js';
import { shapeOps } from './shape.js';
import { convOps } from './conv.js';
import { creationOps } from './creation.js';
import { quantizedOps } from './quantized.js';

export const OPS: OpTable = {
  ...elementwiseOps, ...matmulOps, ...reduceOps, ...softmaxOps, ...normalizationOps, ...shapeOps, ...convOps,
  ...creationOps, ...quantizedOps,
};

/** The definition of a node's op, if minnow knows it (in the node's own operator set). */
export function opDef(node: Pick<Node, 'opType' | 'domain'>): OpDef | undefined {
  const def = OPS[node.opType];
  const domain = node.domain === 'ai.onnx' ? '' : node.domain;
  return def && (def.domain ?? '') === domain ? def : undefined;
}

export type { OpDef, OpTable } from './op.js';
export { InferContext, broadcastShapes, normAxis, unknownDim, type ShapeRule } from './shape-rule.js';
export { GradientError, type Vjp, type VjpContext } from './vjp.js';
export { pow, sqrt, exp, log, tanh, sigmoid, relu, erf, gelu, where, dropout } from './elementwise.js';
export { matmul, matmulShape } from './matmul.js';
export { reduceSum, reduceMean } from './reduce.js';
export { softmax, logSoftmax, softmaxCrossEntropy, type CrossEntropyOptions } from './softmax.js';
export { layerNorm } from './normalization.js';
export { reshape, transpose, unsqueeze, squeeze, flatten, concat, split, slice, gather, expand, gatherElements } from './shape.js';
export { conv2d, maxPool2d, avgPool2d, type Conv2dOptions } from './conv.js';
