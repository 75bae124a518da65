// Sanity checks on a teacher's answers, before the student trains on them: a teacher that returns
// NaN, a flat distribution for almost every input, or the same distribution whatever the input is
// broken (diverged, untrained, fed the wrong preprocessing), and a student distilled from it would
// learn nothing while the run looks healthy.
import { TEACHER_INPUTS } from '../src/train/distill-loss.js';
import type { Tensor } from '../src/onnx/tensor.js';

/** Log-probabilities within this of each other across a row: a flat (uninformative) distribution. */
export const FLAT_SPREAD = 0.02;
/** Share of rows that may be flat before the teacher is called uninformative ("most rows"). */
export const FLAT_SHARE = 0.5;
/** Fewest distinct inputs whose answers must all be equal to call the teacher input-blind. */
export const BLIND_ROWS = 4;

/**
 * What is wrong with a batch of soft labels, or undefined when nothing is. Sampled soft labels weigh
 * every draw alike, so only their tokens can tell rows apart, and flatness does not apply.
 */
export function softLabelProblem(feeds: Record<string, Tensor>, rows: number, options: { sampled?: boolean } = {}): string | undefined {
  const lp = feeds[TEACHER_INPUTS.logProbs]!.data as Float32Array;
  const tail = feeds[TEACHER_INPUTS.tailMass]?.data as Float32Array | undefined;
  const bad = lp.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) return `its soft labels hold ${lp[bad]} (row ${Math.floor(bad / (lp.length / rows))})`;
  if (tail?.some((v) => !Number.isFinite(v))) return 'its distributions are not finite (NaN or Inf logits)';
  const width = feeds[TEACHER_INPUTS.logProbs]!.dims.at(-1)!;
  const positions = lp.length / width;
  let flat = 0;
  for (let p = 0; p < positions; p++) {
    let lo = Infinity, hi = -Infinity;
    for (let j = 0; j < width; j++) { const v = lp[p * width + j]!; lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (hi - lo < FLAT_SPREAD) flat++;
  }
  if (!options.sampled && positions >= BLIND_ROWS && flat / positions > FLAT_SHARE) {
    return `its soft labels are near-uniform on ${flat} of ${positions} ${positions === rows ? 'rows' : 'positions'} (it is untrained or cannot read the inputs)`;
  }
  const same = Object.values(feeds).every((t) => rowsIdentical(t.data as Float32Array | BigInt64Array, rows));
  if (rows >= BLIND_ROWS && same) return `it returns the same soft labels for ${rows} different inputs (it does not read them)`;
  return undefined;
}

function rowsIdentical(values: Float32Array | BigInt64Array, rows: number): boolean {
  const per = values.length / rows;
  for (let r = 1; r < rows; r++) {
    for (let j = 0; j < per; j++) if (Math.abs(Number(values[r * per + j]!) - Number(values[j]!)) > 1e-6) return false;
  }
  return true;
}
