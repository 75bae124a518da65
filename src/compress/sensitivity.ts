// Which weights to hold back from quantization, measured rather than guessed: quantize one weight
// at a time (everything else float32), measure the loss on held-out data, and rank the weights by
// how much the loss rose. `minnow compress --keep scan:N` keeps the N most sensitive.
import { decodeModel } from '../onnx/codec.js';
import { compressModel, type CompressOptions } from './compress.js';
import { convSites, gatherSites, matmulSites } from './weights.js';

export interface SensitivityRow {
  weight: string;
  /** Loss with only this weight quantized. */
  loss: number;
  /** That loss minus the float model's. */
  increase: number;
}

export interface SensitivityOptions extends Pick<CompressOptions, 'quantize' | 'blockSize' | 'zeroPoints' | 'accuracyLevel'> {
  /** Loss of a candidate model on held-out data (lower is better). */
  loss: (model: Uint8Array) => Promise<number>;
  onProgress?: (done: number, total: number) => void;
}

/** The quantizable weights of a model, ranked most sensitive first. */
export async function sensitivityScan(input: Uint8Array, options: SensitivityOptions): Promise<{ baseline: number; rows: SensitivityRow[] }> {
  if (!options.quantize) throw new Error('a sensitivity scan needs --quantize int8 or int4');
  const { graph } = decodeModel(input);
  const weights = [...new Set([...matmulSites(graph).map((s) => s.weight), ...convSites(graph).map((s) => s.weight), ...gatherSites(graph).map((s) => s.table)])];
  const baseline = await options.loss(input);
  const rows: SensitivityRow[] = [];
  for (const [i, weight] of weights.entries()) {
    const { bytes } = compressModel(input, {
      quantize: options.quantize, blockSize: options.blockSize, zeroPoints: options.zeroPoints, accuracyLevel: options.accuracyLevel,
      keep: weights.filter((w) => w !== weight), keptPrecision: 'float32',
    });
    const loss = await options.loss(bytes);
    rows.push({ weight, loss, increase: loss - baseline });
    options.onProgress?.(i + 1, weights.length);
  }
  return { baseline, rows: rows.sort((a, b) => b.increase - a.increase) };
}
