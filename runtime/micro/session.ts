// minnow/micro's executor, in the shape of an onnxruntime InferenceSession: the graph is read and
// every op checked at load (an op outside micro's set is an error naming it and its node), constants
// are made once, and a run walks the nodes in their (topological) order, dropping each value after
// its last reader so that memory holds only what is live.
import { readGraph, type MicroGraph, type MicroNode } from './graph.js';
import { ArrayPool, MicroTensor, WEIGHTS, usePool } from './tensor.js';
import { ELEMENTWISE } from './kernels/elementwise.js';
import { SHAPE } from './kernels/shape.js';
import { MATMUL } from './kernels/matmul.js';
import { NN } from './kernels/nn.js';
import type { Kernel } from './kernels/kernel.js';
import { unsupported } from './checks.js';
import { fuse } from './fuse.js';

export const KERNELS: Record<string, Kernel> = { ...ELEMENTWISE, ...SHAPE, ...MATMUL, ...NN };
/** Outputs micro leaves empty; a graph that reads one cannot run here. */
const UNFILLED: Record<string, number[]> = { MaxPool: [1], LayerNormalization: [1, 2] };

export class MicroError extends Error {
  override name = 'MicroError';
}

export class MicroSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly constants = new Map<string, MicroTensor>();
  private readonly pool = new ArrayPool();
  /** The caller's feed arrays of the run in progress: never pooled. */
  private fed = new WeakSet<object>();
  /** The nodes a run walks: the graph's, with fuse.ts's chains folded. */
  private readonly nodes: MicroNode[];
  /** For each node, the values whose last reader it is. */
  private readonly dropAfter: string[][];

  private constructor(private readonly graph: MicroGraph) {
    this.inputNames = graph.inputs;
    this.outputNames = graph.outputs;
    check(graph);
    for (const [name, t] of graph.initializers) { this.constants.set(name, t); WEIGHTS.add(t.data); }
    for (const node of graph.nodes) if (node.op === 'Constant' && node.attrs.value instanceof MicroTensor) WEIGHTS.add(node.attrs.value.data);
    this.nodes = fuse(graph);
    this.dropAfter = lastReaders(this.nodes, new Set([...graph.initializers.keys(), ...graph.outputs]));
  }

  static async create(model: Uint8Array): Promise<MicroSession> {
    return new MicroSession(readGraph(model));
  }

  async run(feeds: Record<string, MicroTensor>): Promise<Record<string, MicroTensor>> {
    const values = new Map<string, MicroTensor>(this.constants);
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new MicroError(`missing input '${name}'; the model takes ${this.inputNames.join(', ')}`);
      values.set(name, t);
    }
    this.fed = new WeakSet(Object.values(feeds).map((t) => t.data));
    // Arrays a dropped value leaves go back to the pool once no live value (a view) shares them.
    const users = new Map<object, number>();
    const hold = (t: MicroTensor) => users.set(t.data, (users.get(t.data) ?? 0) + 1);
    for (const t of values.values()) hold(t);
    usePool(this.pool);
    try {
      this.nodes.forEach((node, i) => {
        const inputs = node.inputs.map((name) => (name ? values.get(name) : undefined));
        let outputs: MicroTensor[];
        try {
          outputs = KERNELS[node.op]!(inputs, node);
        } catch (err) {
          throw new MicroError(`${node.op} node '${node.name}': ${(err as Error).message}`);
        }
        node.outputs.forEach((name, j) => { if (name && outputs[j]) { values.set(name, outputs[j]!); hold(outputs[j]!); } });
        for (const name of this.dropAfter[i]!) this.drop(values, users, name);
      });
    } finally {
      usePool(undefined);
    }
    return Object.fromEntries(this.outputNames.map((name) => [name, values.get(name)!]));
  }

  /** Drops a value; its array returns to the pool when nothing else holds it and it is no weight or feed. */
  private drop(values: Map<string, MicroTensor>, users: Map<object, number>, name: string): void {
    const t = values.get(name);
    values.delete(name);
    if (!t) return;
    const left = users.get(t.data)! - 1;
    users.set(t.data, left);
    if (left === 0 && !WEIGHTS.has(t.data) && !this.fed.has(t.data)) this.pool.give(t.type, t.data);
  }

  async release(): Promise<void> { /* nothing native to free */ }
}

function check(graph: MicroGraph): void {
  const refusal = unsupported(graph, (op) => op in KERNELS);
  if (refusal) throw new MicroError(refusal);
  const unfilled = new Set<string>();
  for (const node of graph.nodes) for (const i of UNFILLED[node.op] ?? []) if (node.outputs[i]) unfilled.add(node.outputs[i]!);
  const reader = graph.nodes.find((n: MicroNode) => n.inputs.some((name) => unfilled.has(name)));
  if (reader) throw new MicroError(`node '${reader.name}' reads an output minnow/micro does not compute (${reader.inputs.find((n) => unfilled.has(n))})`);
}

/** Node by node, the values read for the last time there (graph outputs and weights are kept). */
function lastReaders(nodes: MicroNode[], keep: Set<string>): string[][] {
  const last = new Map<string, number>();
  nodes.forEach((node, i) => { for (const name of node.inputs) if (name && !keep.has(name)) last.set(name, i); });
  const drop: string[][] = nodes.map(() => []);
  for (const [name, i] of last) drop[i]!.push(name);
  return drop;
}
