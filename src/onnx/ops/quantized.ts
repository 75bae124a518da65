// The ops of quantized models (src/compress/quantize): int8 activations quantized at run time, and
// com.microsoft's 4-bit MatMulNBits. Inference only: nothing trains through them.
import type { OpTable } from './op.js';
import { matmulShape } from './matmul.js';

export const quantizedOps: OpTable = {
  DynamicQuantizeLinear: { shape: (c) => [{ dtype: 'uint8', shape: c.shape(0) }, { dtype: 'float32', shape: [] }, { dtype: 'uint8', shape: [] }] },
  MatMulInteger: { shape: (c) => [{ dtype: 'int32', shape: matmulShape(c.shape(0), c.shape(1), c) }] },
  DequantizeLinear: { shape: (c) => [{ dtype: c.dtype(1), shape: c.shape(0) }] },
  QuantizeLinear: { shape: (c) => [{ dtype: c.has(2) ? c.dtype(2) : 'uint8', shape: c.shape(0) }] },
  MatMulNBits: { shape: (c) => [{ dtype: c.dtype(0), shape: [...c.shape(0).slice(0, -1), c.attr('N', 0)] }], domain: 'com.microsoft' },
};
