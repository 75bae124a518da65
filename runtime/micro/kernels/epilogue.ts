// What a product does to its output after the multiply-adds, in place: the bias adds, scale
// multiplies, activations and softmax that fuse.ts folded into it. Each step rounds to float32 as
// the node it replaces did, so a fused graph computes the same values as the unfused one.
import type { MicroNode, Step } from '../graph.js';
import { lastDim, type MicroTensor } from '../tensor.js';
import { ACTIVATIONS, ELEMENTWISE, FLOAT_LOOPS } from './elementwise.js';

/** One step on `out` (in place where the other operand repeats along out's last dim, else through the op's kernel). */
export function applyStep(out: MicroTensor, step: Step, inputs: (MicroTensor | undefined)[], node: MicroNode): MicroTensor {
  const v = out.data as Float32Array;
  if (step.op === 'Softmax') { softmaxRows(v, v, out.size / lastDim(out), lastDim(out)); return out; }
  if ('tanh' in step) { ACTIVATIONS[step.op]!(v, step.tanh); return out; }
  const y = inputs[step.input]!, n = lastDim(out);
  const repeats = y.type === 'float32' && y.dims.length <= out.dims.length && (y.size === 1 || (y.size === n && lastDim(y) === n));
  if (!repeats) return ELEMENTWISE[step.op]!([out, y], node)[0]!;
  FLOAT_LOOPS[step.op]!(v, y.data as Float32Array, v, y.size);
  return out;
}

/** The node's epilogue applied to its product. */
export function finish(out: MicroTensor, inputs: (MicroTensor | undefined)[], node: MicroNode): MicroTensor {
  for (const step of node.epilogue ?? []) out = applyStep(out, step, inputs, node);
  return out;
}

/** Softmax of each of `rows` rows of `inner` values of v, into o (which may be v). */
export function softmaxRows(v: Float32Array, o: Float32Array, rows: number, inner: number): void {
  for (let r = 0; r < rows; r++) {
    const at = r * inner;
    let max = -Infinity, sum = 0;
    for (let i = 0; i < inner; i++) max = Math.max(max, v[at + i]!);
    for (let i = 0; i < inner; i++) sum += o[at + i] = Math.exp(v[at + i]! - max);
    for (let i = 0; i < inner; i++) o[at + i] = o[at + i]! / sum;
  }
}
