// Structural checks on a node list: every input must be produced somewhere, and the nodes must
// form a DAG. Errors name the node at fault so a user can find it in a viewer such as Netron.
import type { Node } from './graph.js';

export class GraphCheckError extends Error {
  override name = 'GraphCheckError';
}

/** Nodes in an order where each comes after the producers of its inputs. */
export function topologicalOrder(nodes: readonly Node[], available: Iterable<string>): Node[] {
  const known = new Set(available);
  const producer = new Map<string, Node>();
  for (const node of nodes) {
    for (const out of node.outputs) {
      if (out === '') continue;
      if (producer.has(out) || known.has(out)) {
        throw new GraphCheckError(`node '${node.name}' (${node.opType}) writes '${out}', which is already defined`);
      }
      producer.set(out, node);
    }
  }
  for (const node of nodes) {
    for (const input of node.inputs) {
      if (input !== '' && !known.has(input) && !producer.has(input)) {
        throw new GraphCheckError(`node '${node.name}' (${node.opType}) reads '${input}', which no node, input or initializer defines`);
      }
    }
  }
  const order: Node[] = [];
  const state = new Map<Node, 'visiting' | 'done'>();
  const visit = (node: Node, path: Node[]): void => {
    const s = state.get(node);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = path.slice(path.indexOf(node)).map((n) => `'${n.name}' (${n.opType})`);
      throw new GraphCheckError(`cycle through node ${cycle.join(' -> ')} -> '${node.name}'`);
    }
    state.set(node, 'visiting');
    path.push(node);
    for (const input of node.inputs) {
      const p = producer.get(input);
      if (p) visit(p, path);
    }
    path.pop();
    state.set(node, 'done');
    order.push(node);
  };
  // Iterative callers could overflow the stack on very deep graphs; minnow's graphs stay far below.
  for (const node of nodes) visit(node, []);
  return order;
}

/** Throws a GraphCheckError naming the first dangling input or cycle; returns nothing when sound. */
export function checkGraph(nodes: readonly Node[], inputs: Iterable<string>, outputs: readonly string[]): void {
  const available = new Set(inputs);
  const order = topologicalOrder(nodes, available);
  const defined = new Set(available);
  for (const node of order) for (const out of node.outputs) defined.add(out);
  for (const out of outputs) {
    if (!defined.has(out)) throw new GraphCheckError(`graph output '${out}' is not produced by any node`);
  }
}
