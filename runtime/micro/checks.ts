// What minnow/micro refuses at load rather than compute wrongly: ops outside its set or domain, an
// opset before 13 (whose Squeeze, Split and ReduceSum take their axes otherwise), and attributes or
// inputs its kernels do not implement.
import type { MicroGraph, MicroNode } from './graph.js';

/** The ops micro runs from Microsoft's domain; every other op is ONNX's own. */
const MICROSOFT = new Set(['MatMulNBits']);

const is = (node: MicroNode, name: string, ...allowed: (number | string | undefined)[]) => !allowed.includes(node.attrs[name] as number | string | undefined);

/** For each op, what in a node micro cannot honour, or undefined. */
const LIMITS: Record<string, (node: MicroNode, graph: MicroGraph) => string | undefined> = {
  MaxPool: (n) => (is(n, 'ceil_mode', undefined, 0) ? 'ceil_mode 1' : is(n, 'auto_pad', undefined, 'NOTSET') ? `auto_pad ${String(n.attrs.auto_pad)}` : is(n, 'storage_order', undefined, 0) ? 'storage_order 1' : twoD(n)),
  Conv: (n, g) => (is(n, 'auto_pad', undefined, 'NOTSET') ? `auto_pad ${String(n.attrs.auto_pad)}` : (g.initializers.get(n.inputs[1]!)?.dims.length ?? 4) !== 4 ? 'a convolution that is not 2-D' : twoD(n)),
  Reshape: (n) => (is(n, 'allowzero', undefined, 0) ? 'allowzero 1' : undefined),
  Constant: (n) => (n.attrs.value === undefined ? 'a value other than a tensor (value_int, value_floats, ...)' : undefined),
  Max: (n) => (n.inputs.length !== 2 ? `${n.inputs.length} inputs (two only)` : undefined),
  MatMulNBits: (n, g) => (n.inputs[4] ? 'a g_idx input' : is(n, 'bits', undefined, 4) ? `${String(n.attrs.bits)} bits (4 only)` : (g.initializers.get(n.inputs[3] ?? '')?.type ?? 'uint8') !== 'uint8' ? 'float zero points' : undefined),
  Softmax: (n) => (is(n, 'axis', undefined, -1) ? 'an axis other than the last (-1)' : undefined),
  ReduceSum: (n) => (is(n, 'noop_with_empty_axes', undefined, 0) ? 'noop_with_empty_axes 1' : undefined),
};

function twoD(n: MicroNode): string | undefined {
  const kernel = n.attrs.kernel_shape;
  return Array.isArray(kernel) && kernel.length !== 2 ? `a ${kernel.length}-D window (2-D only)` : undefined;
}

export function unsupported(graph: MicroGraph, known: (op: string) => boolean): string | undefined {
  const instead = 'run this model with minnow/runtime and ONNX Runtime';
  if (graph.opset < 13) return `the model uses ONNX opset ${graph.opset}; minnow/micro runs opset 13 and later (re-export it, or ${instead})`;
  for (const node of graph.nodes) {
    const domainOk = MICROSOFT.has(node.op) ? node.domain === 'com.microsoft' : node.domain === '' || node.domain === 'ai.onnx';
    const where = `op ${node.domain ? `${node.domain}.` : ''}${node.op} (node '${node.name}')`;
    if (!known(node.op) || !domainOk) return `${where} is not supported by minnow/micro; ${instead}`;
    const limit = LIMITS[node.op]?.(node, graph);
    if (limit) return `${where} has ${limit}, which minnow/micro does not compute; ${instead}`;
  }
  return undefined;
}
