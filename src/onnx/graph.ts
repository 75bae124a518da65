// The graph builder every layer, VJP rule and optimizer writes into. It hands out unique value
// names, records each value's dtype and (possibly symbolic) shape as nodes are added, and keeps
// the values of constants so that shape inference can read Reshape targets, axes and the like.
import { Tensor, type DType } from './tensor.js';
import { inferNode } from './infer.js';
import type { AttrValue } from './attrs.js';

/** A dimension: a number when static, a name ('batch', 'seq') when it is only known at run time. */
export type Dim = number | string;

export interface ValueType {
  dtype: DType;
  shape: Dim[];
}

export interface Node {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export interface OpOptions {
  /** How many outputs the node has (default 1). */
  outputs?: number;
  domain?: string;
  /** A readable prefix for the node's output names. */
  name?: string;
  /** Leave outputs untyped where inference fails (default: only when an input is untyped). */
  lenient?: boolean;
}

export const DEFAULT_OPSET = 20;

export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: string[] = [];
  readonly outputs: string[] = [];
  readonly types = new Map<string, ValueType>();
  readonly initializers = new Map<string, Tensor>();
  /** Initializers the trainer updates; the rest are frozen. */
  readonly params = new Set<string>();
  /** Values known at build time: Constant nodes and initializers. */
  readonly constants = new Map<string, Tensor>();
  readonly metadata = new Map<string, string>();
  readonly opsets = new Map<string, number>([['', DEFAULT_OPSET]]);
  private readonly used = new Set<string>();
  private readonly producers = new Map<string, Node>();

  constructor(readonly name = 'minnow') {}

  /** A name not used yet in this graph, derived from `base`. */
  fresh(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    if (!this.used.has(clean)) { this.used.add(clean); return clean; }
    for (let i = 1; ; i++) {
      const candidate = `${clean}_${i}`;
      if (!this.used.has(candidate)) { this.used.add(candidate); return candidate; }
    }
  }

  private claim(name: string): void {
    if (this.used.has(name)) throw new Error(`graph already has a value named '${name}'`);
    this.used.add(name);
  }

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.claim(name);
    this.inputs.push(name);
    this.types.set(name, { dtype, shape: [...shape] });
    return name;
  }

  /** A tensor stored in the model; `trainable` ones are what the optimizer updates. */
  initializer(name: string, value: Tensor, trainable = false): string {
    this.claim(name);
    this.initializers.set(name, value);
    this.constants.set(name, value);
    this.types.set(name, { dtype: value.dtype, shape: [...value.dims] });
    if (trainable) this.params.add(name);
    return name;
  }

  /** An initializer under a fresh name derived from `base`. */
  freshInitializer(base: string, value: Tensor): string {
    const name = this.fresh(base);
    this.used.delete(name);
    return this.initializer(name, value);
  }

  param(name: string, value: Tensor): string {
    return this.initializer(name, value, true);
  }

  constant(value: Tensor, base = 'const'): string {
    const [out] = this.op('Constant', [], { value }, { name: base });
    this.constants.set(out!, value);
    return out!;
  }

  scalar(value: number, dtype: DType): string {
    return this.constant(Tensor.scalar(dtype, value), 'scalar');
  }

  int64s(values: number[]): string {
    return this.constant(Tensor.fromNumbers('int64', [values.length], values), 'ints');
  }

  /** Appends a node, infers the types of its outputs and returns their names. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: OpOptions = {}): string[] {
    const count = options.outputs ?? 1;
    const base = options.name ?? opType.toLowerCase();
    const outputs = Array.from({ length: count }, () => this.fresh(base));
    for (const input of inputs) {
      if (input !== '' && !this.types.has(input) && !this.producers.has(input) && !this.initializers.has(input)) {
        throw new Error(`${opType} node: input '${input}' is not a value of this graph`);
      }
    }
    const node: Node = { name: this.fresh(`n_${base}`), opType, domain: options.domain ?? '', inputs, outputs, attrs };
    // An input without a type comes from an op inference has no rule for (a graph read from a file):
    // its consumers cannot be typed either, which is not an error.
    const lenient = options.lenient ?? inputs.some((i) => i !== '' && !this.types.has(i));
    const types = inferNode(this, node, { lenient });
    outputs.forEach((out, i) => {
      const type = types[i];
      if (type) this.types.set(out, type);
    });
    this.nodes.push(node);
    for (const out of outputs) this.producers.set(out, node);
    return outputs;
  }

  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, options: OpOptions = {}): string {
    return this.op(opType, inputs, attrs, options)[0]!;
  }

  /** Adds a node built elsewhere (the codec's reader), keeping its output names. */
  addNode(node: Node): void {
    for (const out of node.outputs) if (out !== '') this.claim(out);
    // Node names live in their own namespace in ONNX; only keep fresh() from handing them out again.
    this.used.add(node.name);
    const types = inferNode(this, node, { lenient: true });
    node.outputs.forEach((out, i) => { if (types[i]) this.types.set(out, types[i]!); });
    if (node.opType === 'Constant' && node.attrs.value instanceof Tensor) this.constants.set(node.outputs[0]!, node.attrs.value);
    this.nodes.push(node);
    for (const out of node.outputs) this.producers.set(out, node);
  }

  /**
   * Puts `replacements` where `node` stood. They must write every output of `node` that is still
   * read, and their other outputs must be fresh names, typed already.
   */
  replace(node: Node, replacements: Node[]): void {
    const at = this.nodes.indexOf(node);
    if (at < 0) throw new Error(`node '${node.name}' is not in this graph`);
    this.nodes.splice(at, 1, ...replacements);
    for (const out of node.outputs) this.producers.delete(out);
    for (const r of replacements) {
      this.used.add(r.name);
      for (const out of r.outputs) this.producers.set(out, r);
    }
  }

  /** Turns a stored tensor into a graph input of the same name (training feeds parameters in). */
  initializerToInput(name: string): string {
    if (!this.initializers.delete(name)) throw new Error(`'${name}' is not an initializer`);
    this.constants.delete(name);
    this.inputs.push(name);
    return name;
  }

  output(name: string): string {
    if (!this.types.has(name)) throw new Error(`cannot mark '${name}' as output: no such value`);
    if (!this.outputs.includes(name)) this.outputs.push(name);
    return name;
  }

  /** The name under which `value` is also visible as `alias`, via an Identity node. */
  alias(value: string, alias: string): string {
    this.claim(alias);
    const node: Node = { name: this.fresh(`n_${alias}`), opType: 'Identity', domain: '', inputs: [value], outputs: [alias], attrs: {} };
    this.types.set(alias, this.type(value));
    this.nodes.push(node);
    this.producers.set(alias, node);
    return alias;
  }

  type(name: string): ValueType {
    const type = this.types.get(name);
    if (!type) throw new Error(`no type recorded for value '${name}'`);
    return type;
  }

  shape(name: string): Dim[] { return this.type(name).shape; }
  dtype(name: string): DType { return this.type(name).dtype; }
  rank(name: string): number { return this.type(name).shape.length; }

  producer(name: string): Node | undefined { return this.producers.get(name); }

  /** Number of trainable parameters. */
  paramCount(): number {
    let n = 0;
    for (const name of this.params) n += this.initializers.get(name)!.size;
    return n;
  }
}
