// Finding the weights a quantizer can rewrite: MatMul nodes whose second input is a rank-2 float
// initializer, and Gather nodes that look up rows of a float table.
import type { Graph, Node } from '../onnx/graph.js';

export interface MatMulSite { node: Node; weight: string; k: number; n: number }
export interface GatherSite { node: Node; table: string; rows: number; dim: number }
/** A Conv whose weight [out, in, kh, kw] is a float initializer; `row` = in * kh * kw. */
export interface ConvSite { node: Node; weight: string; dims: number[]; out: number; row: number }

export function matmulSites(g: Graph): MatMulSite[] {
  return g.nodes.flatMap((node) => {
    if (node.opType !== 'MatMul' || node.domain !== '') return [];
    const w = g.initializers.get(node.inputs[1]!);
    if (!w || w.dtype !== 'float32' || w.dims.length !== 2) return [];
    return [{ node, weight: node.inputs[1]!, k: w.dims[0]!, n: w.dims[1]! }];
  });
}

export function gatherSites(g: Graph): GatherSite[] {
  return g.nodes.flatMap((node) => {
    if (node.opType !== 'Gather' || (node.attrs.axis ?? 0) !== 0) return [];
    const t = g.initializers.get(node.inputs[0]!);
    if (!t || t.dtype !== 'float32' || t.dims.length !== 2) return [];
    return [{ node, table: node.inputs[0]!, rows: t.dims[0]!, dim: t.dims[1]! }];
  });
}

export function convSites(g: Graph): ConvSite[] {
  return g.nodes.flatMap((node) => {
    if (node.opType !== 'Conv' || node.domain !== '') return [];
    const w = g.initializers.get(node.inputs[1]!);
    if (!w || w.dtype !== 'float32' || w.dims.length !== 4) return [];
    return [{ node, weight: node.inputs[1]!, dims: [...w.dims], out: w.dims[0]!, row: w.size / w.dims[0]! }];
  });
}

/** How many nodes read each value (an initializer shared by two nodes is rewritten once). */
export function consumers(g: Graph): Map<string, Node[]> {
  const map = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) { const l = map.get(i); if (l) l.push(n); else map.set(i, [n]); }
  return map;
}
