// Central finite differences against grad(): builds f(inputs), contracts its output with a fixed
// random tensor to get a scalar, and compares d scalar / d input both ways.
import { Graph, type Dim } from '../../src/onnx/graph.js';
import { Tensor, type DType } from '../../src/onnx/tensor.js';
import { encodeModel } from '../../src/onnx/codec.js';
import { createSession, run } from '../../src/onnx/runtime.js';
import { grad } from '../../src/autodiff/grad.js';
import { mulberry32 } from '../../src/format/rng.js';

export interface CheckInput {
  name: string;
  dims: number[];
  dtype?: DType;
  /** Explicit values; otherwise uniform in [-1, 1) (or `range`). */
  values?: number[];
  range?: [number, number];
  /** Not differentiated (int indices, masks, constants). */
  fixed?: boolean;
  /** Symbolic dims to declare instead of the static ones (the feed keeps the static dims). */
  shape?: Dim[];
}

export interface CheckOptions {
  dtype?: DType;
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /**
   * A new session per evaluation: for ops whose randomness is seeded per session (Dropout), so that
   * every evaluation sees the same mask.
   */
  freshSession?: boolean;
}

export interface CheckResult {
  maxAbsError: number;
  maxRelError: number;
  checked: number;
  failures: string[];
}

export async function gradCheck(
  inputs: CheckInput[],
  build: (g: Graph, names: string[]) => string,
  options: CheckOptions = {},
): Promise<CheckResult> {
  const dtype = options.dtype ?? 'float64';
  const eps = options.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const rtol = options.rtol ?? (dtype === 'float64' ? 1e-5 : 2e-2);
  const atol = options.atol ?? (dtype === 'float64' ? 1e-7 : 2e-3);
  const rand = mulberry32(options.seed ?? 1234);

  const g = new Graph('gradcheck');
  const names = inputs.map((inp) => g.input(inp.name, inp.dtype ?? dtype, inp.shape ?? inp.dims));
  const y = build(g, names);
  const yShape = g.shape(y);
  if (!yShape.every((d) => typeof d === 'number')) throw new Error(`gradCheck: output shape [${yShape}] must be static`);
  const yDims = yShape as number[];
  const weights = Tensor.fromNumbers(g.dtype(y), yDims, Array.from({ length: yDims.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1));
  const loss = g.op1('ReduceSum', [g.op1('Mul', [y, g.constant(weights)])], { keepdims: 0 }, { name: 'loss' });
  const wrt = inputs.filter((i) => !i.fixed).map((i) => i.name);
  const grads = grad(g, loss, wrt);
  g.output(loss);
  for (const w of wrt) g.output(g.alias(grads.get(w)!, `grad_${w}`));
  const model = encodeModel(g);
  let session = await createSession(model);
  const evaluate = async (fetches?: string[]) => {
    if (options.freshSession) session = await createSession(model);
    return run(session, feeds, fetches);
  };

  const feeds: Record<string, Tensor> = {};
  for (const inp of inputs) {
    const n = inp.dims.reduce((a, b) => a * b, 1);
    const [lo, hi] = inp.range ?? [-1, 1];
    const values = inp.values ?? Array.from({ length: n }, () => lo + rand() * (hi - lo));
    feeds[inp.name] = Tensor.fromNumbers(inp.dtype ?? dtype, inp.dims, values);
  }
  const analytic = await evaluate();
  const result: CheckResult = { maxAbsError: 0, maxRelError: 0, checked: 0, failures: [] };
  for (const w of wrt) {
    const x = feeds[w]!;
    const gA = analytic[`grad_${w}`]!.toNumbers();
    for (let i = 0; i < x.size; i++) {
      const orig = Number(x.data[i]);
      (x.data as Float64Array)[i] = orig + eps;
      const plus = Number((await evaluate([loss]))[loss]!.data[0]);
      (x.data as Float64Array)[i] = orig - eps;
      const minus = Number((await evaluate([loss]))[loss]!.data[0]);
      (x.data as Float64Array)[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const err = Math.abs(numeric - gA[i]!);
      result.maxAbsError = Math.max(result.maxAbsError, err);
      result.maxRelError = Math.max(result.maxRelError, err / Math.max(Math.abs(numeric), 1e-12));
      result.checked++;
      if (err > atol + rtol * Math.abs(numeric) && result.failures.length < 5) {
        result.failures.push(`d/d${w}[${i}]: analytic ${gA[i]} vs numeric ${numeric}`);
      }
    }
  }
  return result;
}
