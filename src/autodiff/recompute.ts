// Activation checkpointing over an ONNX graph. The backward pass of a segment (a Transformer block,
// say) reads a copy of the segment's forward nodes, made when the backward pass reaches it, instead
// of the forward pass's own values. Those are then read by forward nodes only, and onnxruntime frees
// them as soon as the forward pass is done with them. Only the segment's inputs stay alive.
//
// Nothing but data dependencies orders onnxruntime's nodes, so the copy's activation inputs are gated
// on the gradient arriving at the segment (x + a zero made from it): without that, the copy could run
// during the forward pass and keep everything alive again. The zero is (sum(gradient) > +inf) cast to
// a number, which stays 0 even where the gradient is not finite. Dropout is not drawn again: its copy
// multiplies by the forward pass's mask (one byte a value), as onnxruntime's kernel does.
import type { Graph, Node } from '../onnx/graph.js';
import { ONNX_DATA_TYPE, isFloat } from '../onnx/tensor.js';

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
    const never = g.op1('Greater', [g.op1('ReduceSum', [gradient], { keepdims: 0 }, { name: 'recompute_gate' }), g.scalar(Infinity, g.dtype(gradient))]);
    const zeros = new Map<string, string>();
    const gated = (x: string): string => {
      if (x === '' || inside.has(x) || !this.activation(x)) return x;
      if (!renamed.has(x)) {
        const dtype = g.dtype(x);
        if (!zeros.has(dtype)) zeros.set(dtype, g.op1('Cast', [never], { to: ONNX_DATA_TYPE[dtype] }));
        renamed.set(x, g.op1('Add', [x, zeros.get(dtype)!], {}, { name: `${x}.recompute_after` }));
      }
      return renamed.get(x)!;
    };
    const copies = new Map<Node, Node>();
    for (const node of nodes) {
      if (node.inputs.length === 0) continue; // constants are not recomputed
      const inputs = node.inputs.map((x) => renamed.get(x) ?? gated(x));
      if (node.opType === 'Dropout' && node.outputs[1] && g.constants.get(node.inputs[2] ?? '')?.toNumbers()[0] === 1) {
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
   * Whether `x` is an activation to gate: a float value computed from something computed. Weights,
   * graph inputs, constants and what is made from them alone (a fake-quantized weight) are not gated:
   * a gated copy of a weight would cost the weight's size in every backward pass.
   */
  private activation(x: string): boolean {
    const producer = this.g.producer(x);
    if (!producer || producer.opType === 'Constant' || !isFloat(this.g.dtype(x))) return false;
    return producer.inputs.some((i) => i !== '' && this.g.producer(i) !== undefined && this.g.producer(i)!.opType !== 'Constant');
  }

  /**
   * A Dropout in training mode, again: Y = mask ? X / (1 - ratio) : 0, as onnxruntime's kernel computes
   * it, with the forward pass's own mask (a second Dropout would draw another). The mask, one byte a
   * value, stays alive in place of the activation. The node returned is what Dropout's VJP reads.
   */
  private redrop(node: Node, inputs: string[], renamed: Map<string, string>): Node {
    const { g } = this;
    const [x, ratio] = inputs as [string, string];
    const dtype = g.dtype(x);
    // Where, not a Cast of the mask: a Cast would read only forward values and could run early.
    const kept = g.op1('Where', [node.outputs[1]!, x, g.scalar(0, dtype)]);
    const y = g.op1('Div', [kept, g.op1('Sub', [g.scalar(1, dtype), ratio])], {}, { name: `${node.outputs[0]}.recompute` });
    renamed.set(node.outputs[0]!, y);
    return { ...node, inputs, outputs: [y, node.outputs[1]!] };
  }
}
