// Ops that make tensors from shapes, constants and ranges, or read a tensor's shape. No gradient
// flows through them.
import { Tensor, type DType } from '../tensor.js';
import type { OpTable } from './op.js';
import { normAxis, unknownDim, type ShapeRule } from './shape-rule.js';

const shapeOf: ShapeRule = (c) => {
  const rank = c.shape(0).length;
  const start = normAxis(c.attr('start', 0), rank);
  const end = c.node.attrs.end === undefined ? rank : normAxis(c.attr('end', rank), rank);
  return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
};

const constant: ShapeRule = (c) => {
  const value = c.node.attrs.value;
  if (!(value instanceof Tensor)) c.fail('only tensor-valued Constant nodes are supported');
  return [{ dtype: (value as Tensor).dtype, shape: [...(value as Tensor).dims] }];
};

const constantOfShape: ShapeRule = (c) => {
  const value = c.node.attrs.value;
  const dtype: DType = value instanceof Tensor ? value.dtype : 'float32';
  const dims = c.ints(0);
  if (dims) return [{ dtype, shape: dims }];
  const len = c.shape(0)[0];
  if (typeof len !== 'number') c.fail('the shape input has an unknown length');
  return [{ dtype, shape: Array.from({ length: len as number }, () => unknownDim()) }];
};

const oneHot: ShapeRule = (c) => {
  const idx = c.shape(0);
  const depth = c.ints(1)?.[0] ?? unknownDim();
  const out = [...idx];
  out.splice(normAxis(c.attr('axis', -1), idx.length + 1), 0, depth);
  return [{ dtype: c.dtype(2), shape: out }];
};

export const creationOps: OpTable = {
  Shape: { shape: shapeOf, vjp: 'none' },
  Size: { shape: () => [{ dtype: 'int64', shape: [] }], vjp: 'none' },
  Constant: { shape: constant, vjp: 'none' },
  ConstantOfShape: { shape: constantOfShape, vjp: 'none' },
  Range: { shape: (c) => [{ dtype: c.dtype(0), shape: [unknownDim()] }], vjp: 'none' },
  OneHot: { shape: oneHot, vjp: 'none' },
};
