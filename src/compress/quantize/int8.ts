// int8: weights symmetric per output channel, activations quantized at run time
// (DynamicQuantizeLinear + MatMulInteger, which onnxruntime-node and -web both run), embedding
// tables int8 per row with the scale applied after the Gather, conv filters int8 per output channel
// (weight-only: the file shrinks, the conv runs in float).
import type { Graph, Node } from '../../onnx/graph.js';
import { Tensor, ONNX_DATA_TYPE } from '../../onnx/tensor.js';
import { consumers, convSites, gatherSites, matmulSites, type GatherSite, type MatMulSite } from '../weights.js';
import type { QuantScheme, WeightPlan } from './scheme.js';

/** Per-column symmetric int8: W[k, n] ~= q[k, n] * scale[n]. */
export function quantizePerColumn(w: Tensor): { q: Int8Array; scale: Float32Array } {
  const [k, n] = w.dims as [number, number];
  const data = w.data as Float32Array;
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(data[i * n + j]!));
    scale[j] = max > 0 ? max / 127 : 1;
  }
  const q = new Int8Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) q[i * n + j] = Math.max(-127, Math.min(127, Math.round(data[i * n + j]! / scale[j]!)));
  return { q, scale };
}

/** Per-row symmetric int8 for a [rows, dim] table. */
export function quantizePerRow(t: Tensor): { q: Int8Array; scale: Float32Array } {
  const [rows, dim] = t.dims as [number, number];
  const data = t.data as Float32Array;
  const scale = new Float32Array(rows);
  const q = new Int8Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let max = 0;
    for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(data[r * dim + j]!));
    scale[r] = max > 0 ? max / 127 : 1;
    for (let j = 0; j < dim; j++) q[r * dim + j] = Math.max(-127, Math.min(127, Math.round(data[r * dim + j]! / scale[r]!)));
  }
  return { q, scale };
}

/** Removes a float weight that a quantized copy replaced. */
export function dropWeight(g: Graph, name: string): void {
  g.initializers.delete(name);
  g.constants.delete(name);
  g.params.delete(name);
}

export function replaceNode(g: Graph, old: Node, build: () => void): void {
  // Build the replacement at the end, then move its nodes to where the old node was, so that the
  // node list stays in topological order.
  const at = g.nodes.indexOf(old);
  const before = g.nodes.length;
  build();
  const added = g.nodes.splice(before);
  g.nodes.splice(at, 1, ...added);
}

/** The weights of a [K, N] matrix (a scale per column) or of a conv filter bank (a scale per filter), as the int8 codes stand for them. */
function int8WeightValues(w: Tensor, perFilter: boolean): Float32Array {
  if (!perFilter) {
    const { q, scale } = quantizePerColumn(w);
    const n = w.dims[1]!;
    return Float32Array.from(q, (v, i) => v * scale[i % n]!);
  }
  const rows = w.dims[0]!, row = w.size / rows;
  const { q, scale } = quantizePerRow(new Tensor('float32', [rows, row], w.data));
  return Float32Array.from(q, (v, i) => v * scale[Math.floor(i / row)]!);
}

/**
 * Weight-only int8 for the weight input of one MatMul ([K, N], a scale per column) or Conv
 * ([out, ...], a scale per filter): int8 codes and their scales in the file, multiplied out by a
 * Cast and a Mul that read only initializers, so onnxruntime folds them into a float weight when
 * the session loads and the op runs in float as the reference does. (A DequantizeLinear here would
 * be fused by onnxruntime into an 8-bit MatMulNBits that quantizes the activations as well.)
 */
export function weightOnlyInt8(node: Node, weight: string): Required<Pick<WeightPlan, 'rewrite' | 'fake'>> {
  const perFilter = node.opType === 'Conv';
  const rewrite = (g: Graph) => {
    const w = g.initializers.get(weight)!;
    const channels = perFilter ? w.dims[0]! : w.dims[1]!;
    const { q, scale } = perFilter ? quantizePerRow(new Tensor('float32', [channels, w.size / channels], w.data)) : quantizePerColumn(w);
    replaceNode(g, node, () => {
      const wq = g.freshInitializer(`${weight}.int8`, new Tensor('int8', [...w.dims], q));
      const ws = g.freshInitializer(`${weight}.scale`, new Tensor('float32', perFilter ? [channels, ...w.dims.slice(1).map(() => 1)] : [channels], scale));
      const deq = g.op1('Mul', [g.op1('Cast', [wq], { to: ONNX_DATA_TYPE.float32 }), ws], {}, { name: `${weight}.dequantize` });
      g.nodes.push({ ...node, inputs: node.inputs.map((i) => (i === weight ? deq : i)) });
    });
    dropWeight(g, weight);
  };
  return { rewrite, fake: (w) => int8WeightValues(w, perFilter) };
}

/** A MatMul with int8 weights and activations quantized at run time (DynamicQuantizeLinear + MatMulInteger). */
function dynamicInt8(site: MatMulSite): WeightPlan {
  const rewrite = (g: Graph) => {
    const { q, scale } = quantizePerColumn(g.initializers.get(site.weight)!);
    const [x] = site.node.inputs as [string];
    const out = site.node.outputs[0]!;
    replaceNode(g, site.node, () => {
      const wq = g.freshInitializer(`${site.weight}.int8`, new Tensor('int8', [site.k, site.n], q));
      const ws = g.freshInitializer(`${site.weight}.scale`, new Tensor('float32', [site.n], scale));
      const wzp = g.freshInitializer(`${site.weight}.zero_point`, new Tensor('int8', [site.n], new Int8Array(site.n)));
      const [xq, xs, xzp] = g.op('DynamicQuantizeLinear', [x], {}, { outputs: 3, name: `${site.weight}.dql` });
      const acc = g.op1('MatMulInteger', [xq!, wq, xzp!, wzp], {}, { name: `${site.weight}.mmi` });
      const scaled = g.op1('Mul', [g.op1('Cast', [acc], { to: ONNX_DATA_TYPE.float32 }), g.op1('Mul', [xs!, ws])]);
      // Keep the original output name for the consumers.
      g.nodes.push({ name: g.fresh(`n_${out}`), opType: 'Identity', domain: '', inputs: [scaled], outputs: [out], attrs: {} });
    });
    dropWeight(g, site.weight);
  };
  return { weight: site.weight, quantized: true, rewrite, fake: (w) => int8WeightValues(w, false) };
}

/** An embedding table int8 per row, the scale applied after the Gather. */
function int8Table(site: GatherSite): WeightPlan {
  const rewrite = (g: Graph) => {
    const { q, scale } = quantizePerRow(g.initializers.get(site.table)!);
    const ids = site.node.inputs[1]!;
    const out = site.node.outputs[0]!;
    replaceNode(g, site.node, () => {
      const tq = g.freshInitializer(`${site.table}.int8`, new Tensor('int8', [site.rows, site.dim], q));
      const ts = g.freshInitializer(`${site.table}.scale`, new Tensor('float32', [site.rows, 1], scale));
      const rows = g.op1('Cast', [g.op1('Gather', [tq, ids], { axis: 0 })], { to: ONNX_DATA_TYPE.float32 });
      const deq = g.op1('Mul', [rows, g.op1('Gather', [ts, ids], { axis: 0 })]);
      g.nodes.push({ name: g.fresh(`n_${out}`), opType: 'Identity', domain: '', inputs: [deq], outputs: [out], attrs: {} });
    });
    dropWeight(g, site.table);
  };
  return { weight: site.table, quantized: true, rewrite, fake: (w) => int8WeightValues(w, true) };
}

/** int8: every matrix, filter and table, but those kept float (held back, or shared by two nodes). */
export const int8: QuantScheme = {
  name: 'int8',
  plan(g, { keep, float: floatWeights }) {
    const uses = consumers(g);
    const float = (weight: string) => keep.has(weight) || floatWeights?.has(weight) || (uses.get(weight)?.length ?? 0) > 1;
    return [
      ...matmulSites(g).map((s) => (float(s.weight) ? { weight: s.weight, quantized: false } : dynamicInt8(s))),
      ...convSites(g).map((s) => (float(s.weight) ? { weight: s.weight, quantized: false } : { weight: s.weight, quantized: true, ...weightOnlyInt8(s.node, s.weight) })),
      ...gatherSites(g).map((s) => (float(s.table) ? { weight: s.table, quantized: false } : int8Table(s))),
    ];
  },
};
