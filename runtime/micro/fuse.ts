// Fusions micro makes at load: a product (MatMul, MatMulInteger, MatMulNBits, Conv) takes in the chain
// of nodes after it that only touch its output one value or one row at a time (the Cast of an
// integer product to float32, bias adds, scale multiplies, Identity, Gelu, Relu, Softmax), so a run
// makes one tensor where it made one per node and passes over each output once while it is in cache.
import type { MicroGraph, MicroNode, Step } from './graph.js';

/** How many inputs each product has (its optional ones included): folded inputs come after. */
const PRODUCT_INPUTS: Record<string, number> = { MatMul: 2, MatMulInteger: 4, MatMulNBits: 6, Conv: 3 };

const FLOAT = 1;

/** The graph's nodes with every foldable chain folded into the product before it. */
export function fuse(graph: MicroGraph): MicroNode[] {
  const readers = new Map<string, MicroNode[]>();
  for (const node of graph.nodes) for (const name of node.inputs) if (name) readers.set(name, [...(readers.get(name) ?? []), node]);
  const outputs = new Set(graph.outputs);
  const folded = new Set<MicroNode>(), replace = new Map<MicroNode, MicroNode>();
  for (const node of graph.nodes) {
    if (!(node.op in PRODUCT_INPUTS) || folded.has(node)) continue;
    const fused: MicroNode = { ...node, inputs: pad(node.inputs, PRODUCT_INPUTS[node.op]!), epilogue: [] };
    let value = node.outputs[0]!, last = node;
    for (;;) {
      const next = readers.get(value);
      // A node another product's chain took (Add(MatMul, MatMul)) stays there: the other product runs alone.
      if (outputs.has(value) || next?.length !== 1 || folded.has(next[0]!)) break;
      const step = stepOf(next[0]!, value, fused);
      if (!step) break;
      if (step !== 'none') fused.epilogue!.push(step);
      folded.add(next[0]!);
      last = next[0]!;
      value = last.outputs[0]!;
    }
    if (last === node) continue;
    fused.outputs = [value];
    folded.add(node);
    // At the chain's last node: every input of the chain is made by then.
    replace.set(last, fused);
  }
  return graph.nodes.flatMap((n) => (replace.has(n) ? [replace.get(n)!] : folded.has(n) ? [] : [n]));
}

/** What folding `node` (which reads the chain's `value`) adds to the product: a step, 'none', or undefined where it cannot fold. */
function stepOf(node: MicroNode, value: string, fused: MicroNode): Step | 'none' | undefined {
  if (node.outputs.length !== 1) return undefined;
  if (node.op === 'Identity') return 'none';
  // An integer product takes its Cast to float32 first, and nothing before it.
  if (fused.op === 'MatMulInteger' && !fused.castToFloat) {
    if (node.op !== 'Cast' || node.attrs.to !== FLOAT || fused.epilogue!.length) return undefined;
    fused.castToFloat = true;
    return 'none';
  }
  switch (node.op) {
    case 'Add': case 'Mul': {
      const [x, y] = node.inputs;
      if (node.inputs.length !== 2 || x === y) return undefined;
      fused.inputs = [...fused.inputs, x === value ? y! : x!];
      return { op: node.op, input: fused.inputs.length - 1 };
    }
    case 'Gelu': case 'Relu': return { op: node.op, tanh: node.attrs.approximate === 'tanh' };
    case 'Softmax': return { op: 'Softmax' };
    default: return undefined;
  }
}

function pad(inputs: string[], n: number): string[] {
  return [...inputs, ...new Array<string>(Math.max(0, n - inputs.length)).fill('')];
}
