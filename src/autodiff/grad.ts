// Reverse-mode differentiation over an ONNX graph: walk the nodes between `wrt` and `loss` in reverse
// topological order, ask each node's VJP rule (src/onnx/ops) for its input gradients and sum the
// contributions.
import type { Graph, Node } from '../onnx/graph.js';
import { isFloat } from '../onnx/tensor.js';
import { OPS, opDef } from '../onnx/ops/index.js';
import { GradientError, shapedLike, zerosLike } from '../onnx/ops/vjp.js';
import { Recompute } from './recompute.js';

export interface GradOptions {
  /** Gradient fed in for the loss (default: ones, i.e. d loss / d loss). */
  seed?: string;
  /**
   * Forward nodes to recompute in the backward pass, a segment (a Transformer block) at a time
   * (recompute.ts): the backward pass then keeps only each segment's inputs, not its activations.
   */
  recompute?: Node[][];
}

/**
 * Appends to `g` the nodes computing d loss / d w for each w in `wrt`, and returns their names.
 * Parameters the loss does not depend on get zeros.
 */
export function grad(g: Graph, loss: string, wrt: string[], options: GradOptions = {}): Map<string, string> {
  // Nodes present before we start: the VJPs append more, which we must not revisit.
  const nodes = [...g.nodes];
  const reachable = forwardReachable(nodes, wrt);
  const needed = backwardNeeded(nodes, loss, reachable);

  const contributions = new Map<string, string[]>();
  const push = (name: string, value: string) => {
    const list = contributions.get(name);
    if (list) list.push(value); else contributions.set(name, [value]);
  };
  const total = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0];
    const sum = g.op1('Sum', list, {}, { name: `grad_sum` });
    contributions.set(name, [sum]);
    return sum;
  };

  push(loss, options.seed ?? onesLike(g, loss));
  const recompute = options.recompute ? new Recompute(g, options.recompute) : undefined;

  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!needed.has(node)) continue;
    const gradOutputs = node.outputs.map(total);
    if (gradOutputs.every((x) => x === undefined)) continue;
    const needs = node.inputs.map((x) => x !== '' && reachable.has(x) && isFloat(g.dtype(x)));
    if (!needs.some(Boolean)) continue;
    const rule = opDef(node)?.vjp;
    if (typeof rule !== 'function') {
      throw new GradientError(`no gradient rule for op '${node.opType}' (node '${node.name}'); ops with rules: ${differentiableOps().join(', ')}`);
    }
    // A recomputed node's copy (its gate: the first gradient to reach its segment, this one).
    const differentiated = recompute ? recompute.stand(node, () => gradOutputs.find((x) => x !== undefined)!) : node;
    const grads = rule({ g, node: differentiated, gradOutputs, needs });
    node.inputs.forEach((input, k) => {
      if (!needs[k]) return;
      const gi = grads[k];
      if (gi === undefined) {
        throw new GradientError(`${node.opType} node '${node.name}': no gradient w.r.t. input ${k} ('${input}'), which the loss depends on`);
      }
      push(input, gi);
    });
  }

  const result = new Map<string, string>();
  for (const w of wrt) result.set(w, total(w) ?? zerosLike(g, w));
  return result;
}

function onesLike(g: Graph, x: string): string {
  if (g.rank(x) === 0) return g.scalar(1, g.dtype(x));
  return shapedLike(g, g.op1('Expand', [g.scalar(1, g.dtype(x)), g.op1('Shape', [x])]), x);
}

/** Values that depend on any of `wrt` through differentiable ops. */
function forwardReachable(nodes: Node[], wrt: string[]): Set<string> {
  const reached = new Set(wrt);
  for (const node of nodes) {
    if (opDef(node)?.vjp === 'none') continue;
    if (node.inputs.some((x) => reached.has(x))) for (const out of node.outputs) reached.add(out);
  }
  return reached;
}

/** Nodes on some path from a reachable value to the loss. */
function backwardNeeded(nodes: Node[], loss: string, reachable: Set<string>): Set<Node> {
  const wanted = new Set([loss]);
  const needed = new Set<Node>();
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.outputs.some((x) => wanted.has(x))) continue;
    if (!node.inputs.some((x) => reachable.has(x))) continue;
    needed.add(node);
    for (const x of node.inputs) if (reachable.has(x)) wanted.add(x);
  }
  return needed;
}

/** Ops with a VJP rule. */
export function differentiableOps(): string[] {
  return Object.entries(OPS).filter(([, def]) => typeof def.vjp === 'function').map(([op]) => op).sort();
}
