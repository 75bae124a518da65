// int4: weight-only, block-wise along K, as com.microsoft MatMulNBits (bits 4). Codes are packed
// two per byte, low nibble first; B is stored transposed, [N, blocks, block_size / 2].
// Embedding tables are int4 too (symmetric, block-wise along each row), unpacked after the Gather
// with plain arithmetic ops, so only the looked-up rows are ever expanded to float. Conv filters are
// packed the same way, one row per output channel; their unpacking reads only initializers, so
// onnxruntime folds it into a float filter when the session loads.
import type { Graph } from '../../onnx/graph.js';
import { Tensor, ONNX_DATA_TYPE } from '../../onnx/tensor.js';
import { consumers, convSites, gatherSites, matmulSites, type ConvSite, type GatherSite, type MatMulSite } from '../weights.js';
import { dropWeight, replaceNode, weightOnlyInt8 } from './int8.js';
import type { QuantScheme, SchemeOptions, WeightPlan } from './scheme.js';
import { fromHalf, toHalf } from '../../format/fp16.js';

export interface Int4Weight {
  packed: Uint8Array; // [N, blocks, blockSize / 2]
  scales: Float32Array; // [N, blocks]
  zeroPoints?: Uint8Array; // [N, ceil(blocks / 2)] packed, asymmetric only
  blocks: number;
}

/** Quantizes W [K, N] block-wise along K; `dequantizeInt4` is its exact inverse on the codes. */
export function quantizeInt4(w: Tensor, blockSize: number, symmetric: boolean): Int4Weight {
  const [K, N] = w.dims as [number, number];
  const data = w.data as Float32Array;
  const blocks = Math.ceil(K / blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const zeroPoints = symmetric ? undefined : new Uint8Array(N * Math.ceil(blocks / 2));
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let min = Infinity, max = -Infinity;
      for (let i = b * blockSize; i < Math.min(K, (b + 1) * blockSize); i++) { const v = data[i * N + n]!; min = Math.min(min, v); max = Math.max(max, v); }
      let scale: number, zp: number;
      if (symmetric) {
        const amax = Math.max(Math.abs(min), Math.abs(max));
        scale = amax > 0 ? amax / 7 : 1;
        zp = 8;
      } else {
        min = Math.min(min, 0); max = Math.max(max, 0);
        scale = max > min ? (max - min) / 15 : 1;
        zp = Math.max(0, Math.min(15, Math.round(-min / scale)));
        zeroPoints![n * Math.ceil(blocks / 2) + (b >> 1)]! |= zp << ((b & 1) * 4);
      }
      scales[n * blocks + b] = scale;
      for (let j = 0; j < blockSize; j++) {
        const i = b * blockSize + j;
        // Padding past K gets the zero point's code, which dequantizes to 0.
        const code = i < K ? Math.max(0, Math.min(15, Math.round(data[i * N + n]! / scale) + zp)) : zp;
        packed[(n * blocks + b) * blob + (j >> 1)]! |= code << ((j & 1) * 4);
      }
    }
  }
  return { packed, scales, zeroPoints, blocks };
}

/** W [K, N] as MatMulNBits sees it: (code - zero point) * scale. */
export function dequantizeInt4(q: Int4Weight, K: number, N: number, blockSize: number): Float32Array {
  const out = new Float32Array(K * N);
  const blob = blockSize / 2;
  for (let n = 0; n < N; n++) for (let i = 0; i < K; i++) {
    const b = Math.floor(i / blockSize), j = i % blockSize;
    const code = (q.packed[(n * q.blocks + b) * blob + (j >> 1)]! >> ((j & 1) * 4)) & 0xf;
    const zp = q.zeroPoints ? (q.zeroPoints[n * Math.ceil(q.blocks / 2) + (b >> 1)]! >> ((b & 1) * 4)) & 0xf : 8;
    out[i * N + n] = (code - zp) * q.scales[n * q.blocks + b]!;
  }
  return out;
}

/** The table's block along a row: the int4 block size where it divides the row, else the whole row. */
export function tableBlockSize(dim: number, blockSize: number): number {
  return dim % blockSize === 0 ? blockSize : dim;
}

export interface Int4Table { packed: Uint8Array; scales: Uint16Array; blocks: number }

/**
 * A [rows, dim] table as symmetric int4 codes (code - 8) * scale, `block` values per scale. Scales
 * are float16 (half the bytes of float32; a table has a scale per 32 values or so).
 */
export function quantizeTableInt4(t: Tensor, block: number): Int4Table {
  const [rows, dim] = t.dims as [number, number];
  const data = t.data as Float32Array;
  const blocks = dim / block;
  const packed = new Uint8Array(rows * dim / 2);
  const scales = new Uint16Array(rows * blocks);
  for (let r = 0; r < rows; r++) for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let j = b * block; j < (b + 1) * block; j++) amax = Math.max(amax, Math.abs(data[r * dim + j]!));
    // The codes are rounded against the float16 scale that the model will multiply by.
    let half = toHalf(amax / 7);
    if (fromHalf(half) === 0) half = toHalf(1);
    scales[r * blocks + b] = half;
    const scale = fromHalf(half);
    for (let j = b * block; j < (b + 1) * block; j++) {
      const code = Math.max(0, Math.min(15, Math.round(data[r * dim + j]! / scale) + 8));
      packed[(r * dim + j) >> 1]! |= code << ((j & 1) * 4);
    }
  }
  return { packed, scales, blocks };
}

/** The float table the int4 codes stand for. */
export function dequantizeTableInt4(q: Int4Table, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  const block = dim / q.blocks;
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) {
    const code = (q.packed[(r * dim + j) >> 1]! >> ((j & 1) * 4)) & 0xf;
    out[r * dim + j] = (code - 8) * fromHalf(q.scales[r * q.blocks + Math.floor(j / block)]!);
  }
  return out;
}

/**
 * Float values from int4 codes: `bytes` [...lead, blocks * block / 2] (two codes a byte, low nibble
 * first) and float16 `scales` [...lead, blocks] give [...lead, blocks * block]. Plain ops (Floor, Mul, Sub,
 * Concat, Reshape) that every onnxruntime build runs.
 */
function unpackInt4Rows(g: Graph, bytes: string, scales: string, lead: number, blocks: number, block: number): string {
  const keep = Array<number>(lead).fill(0); // Reshape's 0 copies the leading dims as they are
  const f = (v: number) => g.scalar(v, 'float32');
  const values = g.op1('Cast', [bytes], { to: ONNX_DATA_TYPE.float32 });
  const high = g.op1('Floor', [g.op1('Div', [values, f(16)])]);
  const low = g.op1('Sub', [values, g.op1('Mul', [high, f(16)])]);
  const last = g.int64s([-1]);
  const pairs = g.op1('Concat', [g.op1('Unsqueeze', [low, last]), g.op1('Unsqueeze', [high, last])], { axis: -1 });
  const codes = g.op1('Reshape', [pairs, g.int64s([...keep, blocks, block])]);
  const scale = g.op1('Cast', [scales], { to: ONNX_DATA_TYPE.float32 });
  const deq = g.op1('Mul', [g.op1('Sub', [codes, f(8)]), g.op1('Unsqueeze', [scale, last])]);
  return g.op1('Reshape', [deq, g.int64s([...keep, blocks * block])]);
}

/** A MatMul as com.microsoft MatMulNBits: 4-bit weights, block-wise along K. */
function int4MatMul(site: MatMulSite, blockSize: number, options: SchemeOptions): WeightPlan {
  const symmetric = options.symmetric ?? true;
  const rewrite = (g: Graph) => {
    const q = quantizeInt4(g.initializers.get(site.weight)!, blockSize, symmetric);
    dropWeight(g, site.weight);
    const packed = g.freshInitializer(`${site.weight}.int4`, new Tensor('uint8', [site.n, q.blocks, blockSize / 2], q.packed));
    const scales = g.freshInitializer(`${site.weight}.scales`, new Tensor('float32', [site.n, q.blocks], q.scales));
    const inputs = [site.node.inputs[0]!, packed, scales];
    if (q.zeroPoints) inputs.push(g.freshInitializer(`${site.weight}.zero_points`, new Tensor('uint8', [site.n, Math.ceil(q.blocks / 2)], q.zeroPoints)));
    // Rewrite in place: same output name, same position in the node list.
    Object.assign(site.node, {
      opType: 'MatMulNBits', domain: 'com.microsoft', inputs,
      attrs: { K: site.k, N: site.n, bits: 4, block_size: blockSize, accuracy_level: options.accuracyLevel ?? 0 },
    });
    g.opsets.set('com.microsoft', 1);
  };
  return { weight: site.weight, quantized: true, rewrite, fake: (w) => dequantizeInt4(quantizeInt4(w, blockSize, symmetric), site.k, site.n, blockSize) };
}

/** A [rows, row] view's values as int4 table rows stand for them. */
function int4RowValues(w: Tensor, blockSize: number): Float32Array {
  const rows = w.dims[0]!, row = w.size / rows;
  return dequantizeTableInt4(quantizeTableInt4(new Tensor('float32', [rows, row], w.data), tableBlockSize(row, blockSize)), rows, row);
}

/** Conv filters packed one int4 row per output channel; the unpacking reads only initializers, so onnxruntime folds it at load. */
function int4Conv(site: ConvSite, blockSize: number): WeightPlan {
  const block = tableBlockSize(site.row, blockSize);
  const rewrite = (g: Graph) => {
    const q = quantizeTableInt4(new Tensor('float32', [site.out, site.row], g.initializers.get(site.weight)!.data), block);
    replaceNode(g, site.node, () => {
      const packed = g.freshInitializer(`${site.weight}.int4`, new Tensor('uint8', [site.out, site.row / 2], q.packed));
      const scales = g.freshInitializer(`${site.weight}.scales`, new Tensor('float16', [site.out, q.blocks], q.scales));
      const rows = unpackInt4Rows(g, packed, scales, 1, q.blocks, block);
      const filter = g.op1('Reshape', [rows, g.int64s(site.dims)], {}, { name: `${site.weight}.unpack` });
      g.nodes.push({ ...site.node, inputs: [site.node.inputs[0]!, filter, ...site.node.inputs.slice(2)] });
    });
    dropWeight(g, site.weight);
  };
  return { weight: site.weight, quantized: true, rewrite, fake: (w) => int4RowValues(w, blockSize) };
}

/** An embedding table in int4 rows; only the looked-up rows are expanded to float. */
function int4Table(site: GatherSite, blockSize: number): WeightPlan {
  const block = tableBlockSize(site.dim, blockSize);
  const rewrite = (g: Graph) => {
    const q = quantizeTableInt4(g.initializers.get(site.table)!, block);
    const ids = site.node.inputs[1]!;
    const out = site.node.outputs[0]!;
    replaceNode(g, site.node, () => {
      const packed = g.freshInitializer(`${site.table}.int4`, new Tensor('uint8', [site.rows, site.dim / 2], q.packed));
      const scales = g.freshInitializer(`${site.table}.scales`, new Tensor('float16', [site.rows, q.blocks], q.scales));
      const rows = unpackInt4Rows(g, g.op1('Gather', [packed, ids], { axis: 0 }), g.op1('Gather', [scales, ids], { axis: 0 }), g.rank(ids), q.blocks, block);
      g.nodes.push({ name: g.fresh(`n_${out}`), opType: 'Identity', domain: '', inputs: [rows], outputs: [out], attrs: {} });
    });
    dropWeight(g, site.table);
  };
  return { weight: site.table, quantized: true, rewrite, fake: (w) => int4RowValues(w, blockSize) };
}

/**
 * int4: matrices as MatMulNBits, conv filters and embedding tables as int4 rows. Held back: the kept
 * weights, weights shared by two nodes, matrices with K below a block and rows of odd length; held-back
 * matrices and filters become int8 weight-only (or stay float with keptPrecision float32), tables stay float.
 */
export const int4: QuantScheme = {
  name: 'int4',
  plan(g, options) {
    const blockSize = options.blockSize ?? 32;
    if (![16, 32, 64, 128].includes(blockSize)) throw new Error(`int4 block size must be 16, 32, 64 or 128, got ${blockSize}`);
    const uses = consumers(g);
    const shared = (weight: string) => (uses.get(weight)?.length ?? 0) > 1;
    const float = (weight: string) => options.float?.has(weight) ?? false;
    const held = (s: MatMulSite | ConvSite): WeightPlan => ({
      weight: s.weight, quantized: false, ...((options.keptPrecision ?? 'int8') === 'int8' && !shared(s.weight) && !float(s.weight) ? weightOnlyInt8(s.node, s.weight) : {}),
    });
    const hold = (weight: string, unfit: boolean) => options.keep.has(weight) || float(weight) || shared(weight) || unfit;
    return [
      ...matmulSites(g).map((s) => (hold(s.weight, s.k < blockSize) ? held(s) : int4MatMul(s, blockSize, options))),
      ...convSites(g).map((s) => (hold(s.weight, s.row % 2 !== 0) ? held(s) : int4Conv(s, blockSize))),
      ...gatherSites(g).map((s) => (hold(s.table, s.dim % 2 !== 0) ? { weight: s.table, quantized: false } : int4Table(s, blockSize))),
    ];
  },
};
