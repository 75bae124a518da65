// Losses as graph nodes.
import type { Graph } from '../onnx/graph.js';
import { softmaxCrossEntropy } from '../onnx/ops/softmax.js';
import { ONNX_DATA_TYPE } from '../onnx/tensor.js';

export interface CrossEntropyOptions {
  /** Mix the one-hot target with a uniform distribution: (1 - e) CE + e * mean_c(-log p_c). */
  labelSmoothing?: number;
  reduction?: 'mean' | 'sum';
}

/**
 * Cross-entropy of logits [..., classes] against int64 labels [...]. Leading dims are flattened so
 * a language model's [batch, seq, vocab] works as well as a classifier's [batch, classes].
 */
export function crossEntropy(g: Graph, logits: string, labels: string, options: CrossEntropyOptions = {}): string {
  const classes = g.shape(logits).at(-1);
  if (typeof classes !== 'number') throw new Error('crossEntropy: the class dim of the logits must be static');
  const flat = g.rank(logits) === 2 ? logits : g.op1('Reshape', [logits, g.int64s([-1, classes])]);
  const flatLabels = g.rank(labels) === 1 ? labels : g.op1('Reshape', [labels, g.int64s([-1])]);
  const reduction = options.reduction ?? 'mean';
  const ce = softmaxCrossEntropy(g, flat, flatLabels, { reduction });
  const eps = options.labelSmoothing ?? 0;
  if (eps <= 0) return ce;
  const logp = g.op1('LogSoftmax', [flat], { axis: 1 });
  const perRow = g.op1('ReduceMean', [logp, g.int64s([1])], { keepdims: 0 });
  const smooth = g.op1(reduction === 'mean' ? 'ReduceMean' : 'ReduceSum', [g.op1('Neg', [perRow])], { keepdims: 0 });
  const dtype = g.dtype(logits);
  return g.op1('Add', [g.op1('Mul', [ce, g.scalar(1 - eps, dtype)]), g.op1('Mul', [smooth, g.scalar(eps, dtype)])], {}, { name: 'loss' });
}

/**
 * Cross-entropy over the rows whose label is not `ignore` (examples nobody labelled): their mean, or
 * 0 for a batch with none, where a plain mean would divide by zero.
 */
export function labelledCrossEntropy(g: Graph, logits: string, labels: string, ignore: number): string {
  const classes = g.shape(logits).at(-1);
  if (typeof classes !== 'number') throw new Error('labelledCrossEntropy: the class dim of the logits must be static');
  const dtype = g.dtype(logits);
  const sum = softmaxCrossEntropy(g, logits, labels, { reduction: 'sum', ignoreIndex: ignore });
  const labelled = g.op1('Cast', [g.op1('Not', [g.op1('Equal', [labels, g.scalar(ignore, 'int64')])])], { to: ONNX_DATA_TYPE[dtype] });
  const count = g.op1('Max', [g.op1('ReduceSum', [labelled], { keepdims: 0 }), g.scalar(1, dtype)]);
  return g.op1('Div', [sum, count], {}, { name: 'labelled_ce' });
}
