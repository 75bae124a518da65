// Dtype and shape inference for a node, from its op's shape rule (src/onnx/ops). Static dims are
// numbers; dims only known at run time are names.
import type { Graph, Node, ValueType } from './graph.js';
import { InferContext } from './ops/shape-rule.js';
import { OPS, opDef } from './ops/index.js';

export interface InferOptions {
  /** Reading a model from disk: an unknown op or a failed rule leaves its outputs untyped. */
  lenient?: boolean;
}

export function inferNode(graph: Graph, node: Node, options: InferOptions = {}): (ValueType | undefined)[] {
  const rule = opDef(node)?.shape;
  if (!rule) {
    if (options.lenient) return [];
    throw new Error(`no shape inference rule for op ${node.domain ? node.domain + '.' : ''}${node.opType}`);
  }
  try {
    return rule(new InferContext(graph, node));
  } catch (err) {
    if (options.lenient) return [];
    throw err;
  }
}

/** The ONNX ops (default domain) minnow infers shapes for. */
export function supportedOps(): string[] {
  return Object.entries(OPS).filter(([, def]) => !def.domain).map(([op]) => op).sort();
}
