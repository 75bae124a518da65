// The gradient table: op type -> VJP rule. Adding an op is adding its rule beside its builder and
// listing its family here.
import type { VjpTable } from '../vjp.js';
import { elementwiseVjps } from './elementwise.js';
import { matmulVjps } from './matmul.js';
import { reduceVjps } from './reduce.js';
import { softmaxVjps } from './softmax.js';
import { normalizationVjps } from './normalization.js';
import { shapeVjps } from './shape.js';
import { convVjps } from './conv.js';

export const VJPS: VjpTable = {
  ...elementwiseVjps, ...matmulVjps, ...reduceVjps, ...softmaxVjps, ...normalizationVjps, ...shapeVjps, ...convVjps,
};

/** Ops whose outputs carry no gradient (shapes, comparisons, indices, constants). */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Equal', 'Greater', 'Less', 'GreaterOrEqual',
  'LessOrEqual', 'Not', 'And', 'Or', 'ArgMax', 'OneHot', 'Range', 'IsNaN', 'Floor', 'Ceil', 'Round', 'Sign',
]);
