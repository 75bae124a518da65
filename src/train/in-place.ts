// Parameters and optimizer state updated in their own memory. onnxruntime writes a graph output into
// a buffer the caller preallocates; handing it the buffer of the matching input makes the update
// in place, so a step allocates no second copy of the weights and the optimizer state.
//
// That is sound only where every read of the input is over before the output is written: onnxruntime
// runs the nodes in any topological order (it may run `W - lr * dW` before a backward MatMul that
// still reads W), so every node that reads the input must be an ancestor of the node that writes the
// output. The global-norm clipping joins every update to every gradient, which makes this hold for
// the trainer's graphs; without clipping, the pairs where it fails keep a fresh output.
import type { Graph, Node } from '../onnx/graph.js';

export interface UpdatePair { input: string; output: string }

/** The pairs of `pairs` whose output may be written into its input's memory. */
export function inPlacePairs(g: Graph, pairs: UpdatePair[]): UpdatePair[] {
  const producer = new Map<string, Node>();
  const readers = new Map<string, Node[]>();
  for (const node of g.nodes) {
    for (const out of node.outputs) producer.set(out, node);
    for (const x of node.inputs) readers.set(x, [...(readers.get(x) ?? []), node]);
  }
  const outputs = new Set(g.outputs);
  return pairs.filter(({ input, output }) => {
    const writer = producer.get(output);
    if (!writer || !outputs.has(output)) return false;
    const before = ancestors(writer, producer);
    return (readers.get(input) ?? []).every((reader) => reader === writer || before.has(reader));
  });
}

function ancestors(node: Node, producer: Map<string, Node>): Set<Node> {
  const seen = new Set<Node>();
  const stack = [node];
  while (stack.length) {
    for (const x of stack.pop()!.inputs) {
      const p = producer.get(x);
      if (p && !seen.has(p)) { seen.add(p); stack.push(p); }
    }
  }
  return seen;
}
