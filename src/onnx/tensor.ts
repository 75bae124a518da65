// Host-side tensors: a dtype, static dims and a typed array, the form that both the protobuf codec
// and onnxruntime's Tensor constructor accept without conversion.

export type DType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';

export type TypedArray =
  | Float32Array | Float64Array | Uint16Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

/** ONNX TensorProto.DataType numbers. */
export const ONNX_DATA_TYPE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11,
};

const FROM_ONNX = new Map<number, DType>(
  Object.entries(ONNX_DATA_TYPE).map(([k, v]) => [v, k as DType]),
);

export function dtypeFromOnnx(code: number): DType {
  const dtype = FROM_ONNX.get(code);
  if (!dtype) throw new Error(`ONNX data type ${code} is not supported by minnow (supported: ${[...FROM_ONNX.values()].join(', ')})`);
  return dtype;
}

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

export function allocate(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32': return new Float32Array(size);
    case 'float64': return new Float64Array(size);
    case 'float16': return new Uint16Array(size);
    case 'int64': return new BigInt64Array(size);
    case 'int32': return new Int32Array(size);
    case 'int8': return new Int8Array(size);
    case 'uint8': case 'bool': return new Uint8Array(size);
  }
}

export function sizeOf(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export class Tensor {
  constructor(
    readonly dtype: DType,
    readonly dims: number[],
    readonly data: TypedArray,
  ) {
    if (data.length !== sizeOf(dims)) {
      throw new Error(`tensor data has ${data.length} elements but dims [${dims}] need ${sizeOf(dims)}`);
    }
  }

  get size(): number { return this.data.length; }

  static zeros(dtype: DType, dims: number[]): Tensor {
    return new Tensor(dtype, dims, allocate(dtype, sizeOf(dims)));
  }

  static fromNumbers(dtype: DType, dims: number[], values: ArrayLike<number>): Tensor {
    const data = allocate(dtype, values.length);
    if (data instanceof BigInt64Array) for (let i = 0; i < values.length; i++) data[i] = BigInt(Math.trunc(values[i]!));
    else (data as Float32Array).set(values);
    return new Tensor(dtype, dims, data);
  }

  static scalar(dtype: DType, value: number): Tensor {
    return Tensor.fromNumbers(dtype, [], [value]);
  }

  /** Values as plain numbers (int64 converted; precision is lost past 2^53). */
  toNumbers(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, (v) => Number(v));
  }

  /** Little-endian raw bytes, as TensorProto.raw_data stores them. */
  bytes(): Uint8Array {
    return new Uint8Array(this.data.buffer, this.data.byteOffset, this.data.byteLength);
  }

  static fromBytes(dtype: DType, dims: number[], bytes: Uint8Array): Tensor {
    // Copy so that the typed array is aligned whatever the source's offset. (Buffer.slice would
    // return a view into Node's shared pool, not a copy.)
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const n = sizeOf(dims);
    const buf = copy.buffer;
    switch (dtype) {
      case 'float32': return new Tensor(dtype, dims, new Float32Array(buf, 0, n));
      case 'float64': return new Tensor(dtype, dims, new Float64Array(buf, 0, n));
      case 'float16': return new Tensor(dtype, dims, new Uint16Array(buf, 0, n));
      case 'int64': return new Tensor(dtype, dims, new BigInt64Array(buf, 0, n));
      case 'int32': return new Tensor(dtype, dims, new Int32Array(buf, 0, n));
      case 'int8': return new Tensor(dtype, dims, new Int8Array(buf, 0, n));
      case 'uint8': case 'bool': return new Tensor(dtype, dims, new Uint8Array(buf, 0, n));
    }
  }
}
