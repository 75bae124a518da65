// IDX files (the MNIST format): magic (0, 0, dtype, ndim), big-endian dims, then the data.
// Gzipped files (.gz) are inflated first.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface IdxArray { dims: number[]; data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array }

export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new Error(`${source} is not an IDX file (bad magic number)`);
  const type = bytes[2]!, ndim = bytes[3]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const offset = 4 + 4 * ndim;
  const n = dims.reduce((a, b) => a * b, 1);
  const size: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };
  const width = size[type];
  if (!width) throw new Error(`${source}: unknown IDX data type 0x${type.toString(16)}`);
  if (bytes.length < offset + n * width) throw new Error(`${source} is truncated: expected ${n} values of ${width} bytes after the header`);
  const read = (get: (o: number) => number, Ctor: new (n: number) => IdxArray['data']) => {
    const out = new Ctor(n);
    for (let i = 0; i < n; i++) out[i] = get(offset + i * width);
    return out;
  };
  switch (type) {
    case 0x08: return { dims, data: bytes.slice(offset, offset + n) };
    case 0x09: return { dims, data: new Int8Array(bytes.slice(offset, offset + n).buffer) };
    case 0x0b: return { dims, data: read((o) => view.getInt16(o, false), Int16Array) };
    case 0x0c: return { dims, data: read((o) => view.getInt32(o, false), Int32Array) };
    case 0x0d: return { dims, data: read((o) => view.getFloat32(o, false), Float32Array) };
    default: return { dims, data: read((o) => view.getFloat64(o, false), Float64Array) };
  }
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readFileSync(file), file);
}
