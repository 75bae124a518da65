// The contract of a shape rule, and the helpers the rules share. Static dims are numbers; dims only
// known at run time are names. Broadcasting treats a dim as broadcast only where it is statically 1,
// which is also the rule the VJPs use to decide which axes to sum a gradient over.
import type { Dim, Graph, Node, ValueType } from '../graph.js';
import { Tensor, type DType } from '../tensor.js';

/** Each output's dtype and shape, from the node and the types of its inputs. */
export type ShapeRule = (ctx: InferContext) => ValueType[];
type Widen<T> = T extends number ? number : T extends string ? string : T;

let unknownCounter = 0;
/** A fresh name for a dim that inference cannot pin down. */
export function unknownDim(): string { return `unk_${++unknownCounter}`; }

export class InferContext {
  constructor(readonly graph: Graph, readonly node: Node) {}
  has(i: number): boolean { return (this.node.inputs[i] ?? '') !== ''; }
  type(i: number): ValueType {
    const name = this.node.inputs[i];
    if (name === undefined || name === '') throw new Error(`${this.node.opType}: input ${i} is missing`);
    return this.graph.type(name);
  }
  shape(i: number): Dim[] { return this.type(i).shape; }
  dtype(i: number): DType { return this.type(i).dtype; }
  constant(i: number): Tensor | undefined {
    const name = this.node.inputs[i];
    return name ? this.graph.constants.get(name) : undefined;
  }
  ints(i: number): number[] | undefined { return this.constant(i)?.toNumbers(); }
  attr<T>(name: string, fallback: T): Widen<T> {
    const v = this.node.attrs[name];
    if (v === undefined) return fallback as Widen<T>;
    return ((v as { value?: unknown }).value !== undefined && !(v instanceof Tensor) ? (v as { value: T }).value : v) as Widen<T>;
  }
  fail(message: string): never {
    throw new Error(`${this.node.opType} node '${this.node.name}': ${message}`);
  }
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** https://onnx.ai/onnx/repo-docs/Broadcasting.html, with symbolic dims. */
export function broadcastShapes(shapes: Dim[][], where = 'broadcast'): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (typeof dim === 'number' && typeof d === 'number' && dim !== d) {
        throw new Error(`${where}: shapes ${shapes.map((x) => `[${x}]`).join(' and ')} do not broadcast`);
      } else if (typeof dim === 'string' && typeof d === 'number') dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** The output is typed as input 0. */
export const same: ShapeRule = (c) => [c.type(0)];

export const broadcast: ShapeRule = (c) => [{
  dtype: c.dtype(0),
  shape: broadcastShapes(c.node.inputs.filter((x) => x !== '').map((_, i) => c.shape(i)), c.node.opType),
}];

/** The product of dims when all are static, else a fresh symbolic dim (or the one dim there is). */
export function dimProduct(ds: Dim[]): Dim {
  if (ds.every((d) => typeof d === 'number')) return (ds as number[]).reduce((a, b) => a * b, 1);
  return ds.length === 1 ? ds[0]! : unknownDim();
}
