// What an op is to minnow/micro: a function from its input tensors (undefined where an optional
// input is left out) and its node (for attributes) to its output tensors.
import type { MicroTensor } from '../tensor.js';
import type { MicroNode } from '../graph.js';

export type Kernel = (inputs: (MicroTensor | undefined)[], node: MicroNode) => MicroTensor[];

export function intAttr(node: MicroNode, name: string, fallback: number): number {
  const v = node.attrs[name];
  return typeof v === 'number' ? v : fallback;
}

export function intsAttr(node: MicroNode, name: string): number[] | undefined {
  const v = node.attrs[name];
  return Array.isArray(v) ? v : undefined;
}

/** An axis attribute or input, counted from the end where negative. */
export function axisOf(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
