// minnow/micro's executor, in the shape of an onnxruntime InferenceSession: the graph is read and
// every op checked at load (an op outside micro's set is an error naming it and its node), constants
// are made once, and a run walks the nodes in their (topological) order, dropping each value after
// its last reader so that memory holds only what is live.
import { readGraph, type MicroGraph, type MicroNode } from './graph.js';
import { ArrayPool, WEIGHTS, usePool, type MicroTensor } from './tensor.js';
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

/** What a session holds, in bytes. */
export interface MicroMemory {
  /** The weights as micro keeps them: the file's tensors and those folded from them at load. */
  weights: number;
  /** The most held at once by a run's values and the pool's spare arrays, over the runs so far. */
  peakActivations: number;
}

export class MicroSession {
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly constants = new Map<string, MicroTensor>();
  private readonly pool = new ArrayPool();
  /** The nodes a run walks: the graph's, less those folded into constants, with fuse.ts's chains folded. */
  private readonly nodes: MicroNode[];
  /** For each node, the values whose last reader it is. */
  private readonly dropAfter: string[][];
  private peak = 0;

  private constructor(graph: MicroGraph) {
    this.inputNames = graph.inputs;
    this.outputNames = graph.outputs;
    check(graph);
    for (const [name, t] of graph.initializers) this.constants.set(name, t);
    this.nodes = fuse({ ...graph, nodes: foldConstants(graph.nodes, this.constants, graph.outputs) });
    for (const t of this.constants.values()) WEIGHTS.add(t.data);
    this.dropAfter = lastReaders(this.nodes, new Set([...this.constants.keys(), ...graph.outputs]));
  }

  static async create(model: Uint8Array): Promise<MicroSession> {
    return new MicroSession(readGraph(model));
  }

  get memory(): MicroMemory {
    const arrays = new Set([...this.constants.values()].map((t) => t.data));
    return { weights: [...arrays].reduce((sum, a) => sum + a.byteLength, 0), peakActivations: this.peak };
  }

  async run(feeds: Record<string, MicroTensor>): Promise<Record<string, MicroTensor>> {
    const values = new Map<string, MicroTensor>(this.constants);
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new MicroError(`missing input '${name}'; the model takes ${this.inputNames.join(', ')}`);
      values.set(name, t);
    }
    const live = new LiveArrays(this.pool, new Set(Object.values(feeds).map((t) => t.data)));
    for (const name of this.inputNames) live.hold(values.get(name)!);
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
        node.outputs.forEach((name, j) => { if (name && outputs[j]) { values.set(name, outputs[j]!); live.hold(outputs[j]!); } });
        for (const name of this.dropAfter[i]!) { live.release(values.get(name)); values.delete(name); }
      });
    } finally {
      usePool(undefined);
      this.pool.settle();
    }
    this.peak = Math.max(this.peak, live.peak);
    return Object.fromEntries(this.outputNames.map((name) => [name, values.get(name)!]));
  }

  async release(): Promise<void> { /* nothing native to free */ }
}

/**
 * The arrays a run's values hold, counted by the values sharing each (views), and their bytes: an
 * array goes back to the pool when its last value is dropped, unless it is a weight or a feed.
 */
class LiveArrays {
  private readonly users = new Map<object, number>();
  private bytes = 0;
  peak = 0;
  constructor(private readonly pool: ArrayPool, private readonly fed: Set<object>) {}

  hold(t: MicroTensor): void {
    if (WEIGHTS.has(t.data)) return;
    const n = this.users.get(t.data) ?? 0;
    this.users.set(t.data, n + 1);
    if (n === 0) this.bytes += t.data.byteLength;
    this.peak = Math.max(this.peak, this.bytes + this.pool.spareBytes);
  }

  release(t: MicroTensor | undefined): void {
    if (!t || WEIGHTS.has(t.data)) return;
    const left = this.users.get(t.data)! - 1;
    this.users.set(t.data, left);
    if (left > 0) return;
    this.bytes -= t.data.byteLength;
    if (!this.fed.has(t.data)) this.pool.give(t.type, t.data);
  }
}

/**
 * Runs once, at load, every node whose inputs are all constants (a weight-only int8 tensor's Cast
 * and scale, shape arithmetic on weights, Constant nodes), keeping its outputs as constants, and
 * drops the constants nothing reads any more. Returns the nodes left to run.
 */
function foldConstants(nodes: MicroNode[], constants: Map<string, MicroTensor>, outputs: string[]): MicroNode[] {
  const left = nodes.filter((node) => {
    if (!node.inputs.every((name) => !name || constants.has(name))) return true;
    let values: MicroTensor[];
    try {
      values = KERNELS[node.op]!(node.inputs.map((name) => (name ? constants.get(name) : undefined)), node);
    } catch (err) {
      throw new MicroError(`${node.op} node '${node.name}', on the model's weights at load: ${(err as Error).message}`);
    }
    node.outputs.forEach((name, j) => { if (name && values[j]) constants.set(name, values[j]!); });
    return false;
  });
  const read = new Set([...left.flatMap((n) => n.inputs), ...outputs]);
  for (const name of constants.keys()) if (!read.has(name)) constants.delete(name);
  return left;
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
