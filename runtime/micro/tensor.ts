// The tensors minnow/micro computes with: typed arrays and their dims, in the shape of
// onnxruntime's Tensor, so that minnow/runtime's Model drives either executor the same way.

export type MicroType = 'float32' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
export type MicroData = Float32Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

const ARRAYS: Record<MicroType, new (n: number) => MicroData> = {
  float32: Float32Array, int64: BigInt64Array, int32: Int32Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array,
};

/**
 * The arrays of a model's weights (initializers and Constant nodes): kernels may keep work derived
 * from them (a transpose, a dequantization) across runs, never from activations, whose arrays an app
 * may refill.
 */
export const WEIGHTS = new WeakSet<object>();

export class MicroTensor {
  readonly dims: readonly number[];
  constructor(readonly type: MicroType, readonly data: MicroData, dims: readonly number[]) {
    this.dims = [...dims];
  }
  get size(): number { return this.data.length; }
  dispose(): void { /* memory goes with the last reference */ }
}

/** The last dim (1 for a scalar). Not dims.at(-1): Hermes 0.12 has no Array.prototype.at. */
export function lastDim(t: MicroTensor): number {
  return t.dims.length ? t.dims[t.dims.length - 1]! : 1;
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * Arrays freed by a run, by type and length, for the next node (or run) that needs one alike. It
 * takes back only arrays it made, and after each run lets go of the sizes that run did not use: a
 * decoder's growing cache makes new sizes at every token.
 */
export class ArrayPool {
  private readonly free = new Map<string, MicroData[]>();
  private readonly made = new WeakSet<object>();
  private readonly used = new Set<string>();
  /** Bytes of the arrays waiting in the pool. */
  spareBytes = 0;
  take(type: MicroType, n: number): MicroData {
    const key = `${type}:${n}`;
    this.used.add(key);
    const a = this.free.get(key)?.pop();
    if (!a) { const fresh = new ARRAYS[type](n); this.made.add(fresh); return fresh; }
    (a as Float32Array).fill((a instanceof BigInt64Array ? 0n : 0) as number);
    this.spareBytes -= a.byteLength;
    return a;
  }
  give(type: MicroType, a: MicroData): void {
    if (!this.made.has(a)) return;
    const key = `${type}:${a.length}`;
    this.used.add(key);
    this.spareBytes += a.byteLength;
    const list = this.free.get(key);
    if (list) list.push(a);
    else this.free.set(key, [a]);
  }
  /** At the end of a run: the sizes it did not use are let go. */
  settle(): void {
    for (const [key, list] of this.free) {
      if (this.used.has(key)) continue;
      for (const a of list) this.spareBytes -= a.byteLength;
      this.free.delete(key);
    }
    this.used.clear();
  }
}

/** The pool of the run in progress (kernels allocate through zeros(), and runs do not overlap). */
let pool: ArrayPool | undefined;
export function usePool(p: ArrayPool | undefined): void { pool = p; }

export function zeros(type: MicroType, dims: readonly number[]): MicroTensor {
  const n = sizeOf(dims);
  return new MicroTensor(type, pool ? pool.take(type, n) : new ARRAYS[type](n), dims);
}

const kept = new Map<string, Float32Array | Float64Array>();

/**
 * A kernel's working array of at least `size` values, kept between nodes and runs (runs do not
 * overlap) and shared by every model: not counted in a session's memory.
 */
export function scratch<T extends Float32Array | Float64Array>(name: string, size: number, make: new (n: number) => T): T {
  let a = kept.get(name) as T | undefined;
  if (!a || a.length < size) { a = new make(size); kept.set(name, a); }
  return a;
}


/**
 * For each index of a tensor of dims `out`, walked in row-major order, the offset into a source
 * whose step along each dim is `strides` (0 where it broadcasts): the index map of broadcasts and
 * transposes alike.
 */
export function offsets(out: readonly number[], strides: readonly number[]): Int32Array {
  const rank = out.length, index = new Int32Array(sizeOf(out));
  const pos = new Array<number>(rank).fill(0);
  for (let i = 0, at = 0; i < index.length; i++) {
    index[i] = at;
    for (let d = rank - 1; d >= 0; d--) {
      at += strides[d]!;
      if (++pos[d]! < out[d]!) break;
      at -= strides[d]! * out[d]!;
      pos[d] = 0;
    }
  }
  return index;
}

/** For each index of `out`, the index into a tensor of `dims` broadcast to it (numpy's rules). */
export function broadcastOffsets(dims: readonly number[], out: readonly number[]): Int32Array {
  const rank = out.length, pad = rank - dims.length;
  const strides = new Array<number>(rank).fill(0);
  for (let d = rank - 1, s = 1; d >= pad; d--) { strides[d] = dims[d - pad] === 1 ? 0 : s; s *= dims[d - pad]!; }
  return offsets(out, strides);
}

/** Values as plain numbers (int64 through Number: indices and shapes stay far below 2^53). */
export function numbers(t: MicroTensor): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

export function fromNumbers(type: MicroType, dims: readonly number[], values: ArrayLike<number>): MicroTensor {
  const t = zeros(type, dims);
  if (type === 'int64') for (let i = 0; i < values.length; i++) (t.data as BigInt64Array)[i] = BigInt(Math.trunc(values[i]!));
  else (t.data as Float32Array).set(values);
  return t;
}
