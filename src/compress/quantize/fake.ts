// Fake quantization for quantization-aware training: for each weight that `minnow compress` would
// quantize, the function that maps it to the values its quantized form stands for. It makes the
// same choices as the quantizers (which weights, which format, what is held back), so a model
// trained against these values compresses to the model it was trained as.
import type { Graph } from '../../onnx/graph.js';
import { Tensor } from '../../onnx/tensor.js';
import { consumers, convSites, gatherSites, matmulSites } from '../weights.js';
import { quantizePerColumn, quantizePerRow } from './int8.js';
import { dequantizeInt4, dequantizeTableInt4, quantizeInt4, quantizeTableInt4, tableBlockSize } from './int4.js';

export interface FakeQuantOptions {
  quantize: 'int8' | 'int4';
  /** int4 block size (default 32). */
  blockSize?: number;
  /** As compress --keep: the last matrix (default), first and last, or none. */
  keep?: 'last' | 'first,last' | 'none';
  /** As compress --kept-precision under int4 (default int8). */
  keptPrecision?: 'int8' | 'float32';
}

export type FakeQuantizer = (w: Tensor) => Float32Array;

const int8Columns: FakeQuantizer = (w) => {
  const { q, scale } = quantizePerColumn(w);
  const n = w.dims[1]!;
  return Float32Array.from(q, (v, i) => v * scale[i % n]!);
};

const int8Rows: FakeQuantizer = (w) => {
  const rows = w.dims[0]!, row = w.size / rows;
  const { q, scale } = quantizePerRow(new Tensor('float32', [rows, row], w.data));
  return Float32Array.from(q, (v, i) => v * scale[Math.floor(i / row)]!);
};

const int4Rows = (blockSize: number): FakeQuantizer => (w) => {
  const rows = w.dims[0]!, row = w.size / rows;
  return dequantizeTableInt4(quantizeTableInt4(new Tensor('float32', [rows, row], w.data), tableBlockSize(row, blockSize)), rows, row);
};

/** Weight name -> its fake quantizer, for the weights of a forward graph (parameters as initializers). */
export function fakeQuantPlan(g: Graph, options: FakeQuantOptions): Map<string, FakeQuantizer> {
  const blockSize = options.blockSize ?? 32;
  const sites = matmulSites(g);
  const keepOption = options.keep ?? 'last';
  const keep = new Set(keepOption === 'none' || sites.length === 0 ? [] : keepOption === 'last' ? [sites.at(-1)!.weight] : [sites[0]!.weight, sites.at(-1)!.weight]);
  const uses = consumers(g);
  const single = (name: string) => (uses.get(name)?.length ?? 0) === 1;
  const plan = new Map<string, FakeQuantizer>();
  if (options.quantize === 'int8') {
    for (const s of sites) if (!keep.has(s.weight) && single(s.weight)) plan.set(s.weight, int8Columns);
    for (const s of convSites(g)) if (!keep.has(s.weight) && single(s.weight)) plan.set(s.weight, int8Rows);
    for (const s of gatherSites(g)) if (!keep.has(s.table) && single(s.table)) plan.set(s.table, int8Rows);
    return plan;
  }
  const heldBack = (options.keptPrecision ?? 'int8') === 'int8';
  for (const s of sites) {
    if (!single(s.weight)) continue;
    if (keep.has(s.weight) || s.k < blockSize) { if (heldBack) plan.set(s.weight, int8Columns); continue; }
    plan.set(s.weight, (w) => dequantizeInt4(quantizeInt4(w, blockSize, true), s.k, s.n, blockSize));
  }
  for (const s of convSites(g)) {
    if (!single(s.weight)) continue;
    if (keep.has(s.weight) || s.row % 2 !== 0) { if (heldBack) plan.set(s.weight, int8Rows); continue; }
    plan.set(s.weight, int4Rows(blockSize));
  }
  for (const s of gatherSites(g)) if (!keep.has(s.table) && single(s.table) && s.dim % 2 === 0) plan.set(s.table, int4Rows(blockSize));
  return plan;
}
