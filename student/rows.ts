// Batches as rows: soft labels are cached per example (its unpadded inputs), so that any batch
// composition, epoch or seed reuses what the teacher already answered.
import { Tensor } from '../src/onnx/tensor.js';
import type { Batch } from '../src/data/batching.js';
import { INPUT } from '../src/format/names.js';

export type Row = Record<string, Tensor>;

/** The model inputs of row r (not labels), without the padding its batch added. */
export function rowOf(batch: Batch, r: number): Row {
  const mask = batch[INPUT.mask];
  let len: number | undefined;
  if (mask) {
    const L = mask.dims[1]!;
    const m = mask.data as BigInt64Array;
    len = 0;
    for (let t = 0; t < L; t++) if (m[r * L + t]) len = t + 1;
    len = Math.max(1, len);
  }
  const row: Row = {};
  for (const [name, t] of Object.entries(batch)) {
    if (name === 'labels') continue;
    const per = t.size / t.dims[0]!;
    if (len !== undefined && t.dims.length === 2) {
      const L = t.dims[1]!;
      row[name] = new Tensor(t.dtype, [1, len], t.data.slice(r * L, r * L + len) as never);
    } else {
      row[name] = new Tensor(t.dtype, [1, ...t.dims.slice(1)], t.data.slice(r * per, (r + 1) * per) as never);
    }
  }
  return row;
}

/** Rows back into one batch, right-padding sequences (ids with padId, masks with 0). */
export function stackRows(rows: Row[], padId: number): Row {
  const out: Row = {};
  for (const name of Object.keys(rows[0]!)) {
    const first = rows[0]![name]!;
    if (first.dims.length === 2 && first.dtype === 'int64') {
      const L = Math.max(...rows.map((r) => r[name]!.dims[1]!));
      const data = new BigInt64Array(rows.length * L).fill(name === INPUT.mask ? 0n : BigInt(padId));
      rows.forEach((r, i) => data.set(r[name]!.data as BigInt64Array, i * L));
      out[name] = new Tensor('int64', [rows.length, L], data);
    } else {
      const per = first.size;
      const data = first.dtype === 'int64' ? new BigInt64Array(rows.length * per) : new Float32Array(rows.length * per);
      rows.forEach((r, i) => (data as Float32Array).set(r[name]!.data as Float32Array, i * per));
      out[name] = new Tensor(first.dtype, [rows.length, ...first.dims.slice(1)], data);
    }
  }
  return out;
}

/** Splits per-row teacher feeds (leading dim = rows) into one feed set per row. */
export function splitFeeds(feeds: Record<string, Tensor>, rows: number): Record<string, Tensor>[] {
  return Array.from({ length: rows }, (_, r) => Object.fromEntries(Object.entries(feeds).map(([k, t]) => {
    const per = t.size / rows;
    return [k, new Tensor(t.dtype, [1, ...t.dims.slice(1)], t.data.slice(r * per, (r + 1) * per) as never)];
  })));
}

/** Per-row feeds back into batch feeds. */
export function joinFeeds(parts: Record<string, Tensor>[]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name of Object.keys(parts[0]!)) {
    const first = parts[0]![name]!;
    const per = first.size;
    const data = first.dtype === 'int64' ? new BigInt64Array(parts.length * per) : new Float32Array(parts.length * per);
    parts.forEach((p, i) => (data as Float32Array).set(p[name]!.data as Float32Array, i * per));
    out[name] = new Tensor(first.dtype, [parts.length, ...first.dims.slice(1)], data);
  }
  return out;
}
