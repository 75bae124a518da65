// Deterministic splits: an item's split is a function of its content alone, so that adding or
// reordering items never moves an existing item to another split. FNV-1a (32-bit) of the item's
// UTF-8 bytes, mod 100: 0-79 train, 80-89 validation, 90-99 test.
import { fnv1a } from '../format/hash.js';

export type Split = 'train' | 'validation' | 'test';
export const SPLITS: readonly Split[] = ['train', 'validation', 'test'];
export { fnv1a };

export function splitOf(data: string | Uint8Array): Split {
  const bucket = fnv1a(data) % 100;
  return bucket < 80 ? 'train' : bucket < 90 ? 'validation' : 'test';
}
