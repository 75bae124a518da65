// Where layers create their parameters: a graph, a name prefix and a seeded generator, so that the
// same spec and seed always give the same initial weights.
import type { Graph } from '../onnx/graph.js';
import { Tensor, type DType } from '../onnx/tensor.js';
import { Rng } from '../format/rng.js';

export type Init =
  | { kind: 'zeros' } | { kind: 'ones' }
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number };

export const zeros: Init = { kind: 'zeros' };
export const ones: Init = { kind: 'ones' };
export const normal = (std: number): Init => ({ kind: 'normal', std });
export const uniform = (bound: number): Init => ({ kind: 'uniform', bound });
/** He initialisation for a ReLU layer with `fanIn` inputs. */
export const kaiming = (fanIn: number): Init => normal(Math.sqrt(2 / fanIn));

export class Scope {
  constructor(
    readonly g: Graph,
    readonly rng: Rng,
    readonly prefix = '',
    readonly dtype: DType = 'float32',
    /** Training graphs include dropout; exported graphs do not. */
    readonly training = false,
  ) {}

  sub(name: string): Scope {
    return new Scope(this.g, this.rng, this.prefix ? `${this.prefix}.${name}` : name, this.dtype, this.training);
  }

  param(name: string, dims: number[], init: Init): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const values = new Float64Array(n);
    if (init.kind === 'ones') values.fill(1);
    else if (init.kind === 'normal') for (let i = 0; i < n; i++) values[i] = this.rng.normal() * init.std;
    else if (init.kind === 'uniform') for (let i = 0; i < n; i++) values[i] = (this.rng.next() * 2 - 1) * init.bound;
    const full = this.prefix ? `${this.prefix}.${name}` : name;
    return this.g.param(full, Tensor.fromNumbers(this.dtype, dims, values));
  }
}
