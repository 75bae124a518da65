// Reading the values of a model spec's keys (`transformer:layers=4,dim=256,...`): each reader names
// the key in its error.
import type { Activation } from '../layers.js';

export class SpecError extends Error {
  override name = 'SpecError';
}

/** The values a spec gave, by key (absent keys take the kind's defaults). */
export type SpecEntries = ReadonlyMap<string, string>;

export function positiveInt(value: string, key: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new SpecError(`${key}=${value}: expected a positive integer`);
  return n;
}

export function fraction(value: string, key: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 1)) throw new SpecError(`${key}=${value}: expected a number in [0, 1)`);
  return n;
}

/** `256`, `512x2` (two of 512) or `512-256`. */
export function widths(value: string, key: string): number[] {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (m) return Array.from({ length: Number(m[2]) }, () => Number(m[1]));
  const parts = value.split('-').map(Number);
  if (parts.some((p) => !Number.isInteger(p) || p <= 0)) throw new SpecError(`${key}=${value}: expected widths like 256, 512x2 or 512-256`);
  return parts;
}

export function activation(value: string | undefined): Activation | undefined {
  if (value === undefined) return undefined;
  if (value !== 'gelu' && value !== 'gelu_tanh' && value !== 'relu') throw new SpecError(`activation=${value}: expected gelu, gelu_tanh or relu`);
  return value;
}

/** key=value pairs in order, leaving out undefined values and a zero dropout. */
export function specParts(values: Record<string, unknown>): string[] {
  return Object.entries(values).filter(([k, v]) => v !== undefined && !(k === 'dropout' && !v)).map(([k, v]) => `${k}=${v}`);
}
