// Activation checkpointing over an ONNX graph. The backward pass of a segment (a Transformer block,
// say) reads a copy of the segment's forward nodes, made when the backward pass reaches it, instead
// of the forward pass's own values. Those are then read by forward nodes only, and onnxruntime frees
// them as soon as the forward pass is done with them. Only the segment's inputs stay alive.
//
// onnxruntime runs a node as soon as its inputs exist, so the copy's activation inputs are gated on
// the gradient arriving at the segment (x + 0 * sum(gradient)): without that, the copy would run in
// the forward pass and keep everything alive again. A Dropout copy keeps its node's seed, and
// onnxruntime seeds each Dropout kernel once from its attribute, so both draw the same mask at
// every step (a test checks the gradients match).
import type { Graph, Node } from '../onnx/graph.js';
import { isFloat } from '../onnx/tensor.js';

export class Recompute {
  /** For each node of a segment, its segment's index. */
  private readonly segmentOf = new Map<Node, number>();
  /** Each copied segment's nodes, original to copy. */
  private readonly copies = new Map<number, Map<Node, Node>>();

  constructor(private readonly g: Graph, private readonly segments: Node[][]) {
    segments.forEach((nodes, i) => { for (const n of nodes) this.segmentOf.set(n, i); });
  }

  /**
   * The node the backward pass differentiates in place of `node`: its copy, made on first use with
   * its segment's other nodes, gated on `gate` (a gradient that exists only once the backward pass
   * reached the segment); or `node` itself outside every segment.
   */
  stand(node: Node, gate: () => string): Node {
    const segment = this.segmentOf.get(node);
    if (segment === undefined) return node;
    let copies = this.copies.get(segment);
    if (!copies) {
      copies = this.copy(this.segments[segment]!, gate());
      this.copies.set(segment, copies);
    }
    return copies.get(node) ?? node;
  }

  private copy(nodes: Node[], gradient: string): Map<Node, Node> {
    const { g } = this;
    const inside = new Set(nodes.flatMap((n) => n.outputs));
    const renamed = new Map<string, string>();
    const zero = g.op1('Mul', [g.op1('ReduceSum', [gradient], { keepdims: 0 }, { name: 'recompute_gate' }), g.scalar(0, g.dtype(gradient))]);
    // Activations from outside the segment (not weights, not graph inputs) wait for the gate.
    const gated = (x: string): string => {
      const producer = x === '' || inside.has(x) ? undefined : g.producer(x);
      if (!producer || producer.opType === 'Constant' || !isFloat(g.dtype(x))) return x;
      if (!renamed.has(x)) renamed.set(x, g.op1('Add', [x, zero], {}, { name: `${x}.recompute_after` }));
      return renamed.get(x)!;
    };
    const copies = new Map<Node, Node>();
    for (const node of nodes) {
      if (node.inputs.length === 0) continue; // constants are not recomputed
      const inputs = node.inputs.map((x) => renamed.get(x) ?? gated(x));
      if (node.opType === 'Dropout' && node.outputs[1]) {
        copies.set(node, this.redrop(node, inputs, renamed));
        continue;
      }
      const outputs = g.op(node.opType, inputs, node.attrs, { outputs: node.outputs.length, domain: node.domain, name: `${node.outputs[0] ?? node.name}.recompute`, lenient: true });
      node.outputs.forEach((out, i) => renamed.set(out, outputs[i]!));
      copies.set(node, g.nodes[g.nodes.length - 1]!);
    }
    return copies;
  }

  /**
   * A Dropout in training mode, again: its input times the forward pass's own mask, scaled as
   * onnxruntime scales it (a second Dropout would draw another mask). The mask, one byte a value,
   * stays alive in place of the activation. The node returned is what Dropout's VJP reads.
   */
  private redrop(node: Node, inputs: string[], renamed: Map<string, string>): Node {
    const { g } = this;
    const [x, ratio] = inputs as [string, string];
    const mask = g.op1('Cast', [node.outputs[1]!], { to: 1 });
    const scale = g.op1('Div', [g.scalar(1, 'float32'), g.op1('Sub', [g.scalar(1, 'float32'), ratio])]);
    const y = g.op1('Mul', [g.op1('Mul', [x, mask]), scale], {}, { name: `${node.outputs[0]}.recompute` });
    renamed.set(node.outputs[0]!, y);
    return { ...node, inputs, outputs: [y, node.outputs[1]!] };
  }
}
