// Seeded randomness. mulberry32 is small, fast and has a 32-bit state that checkpoints can store.

const STEP = 0x6d2b79f5;

/** mulberry32's output for a state: a uniform [0, 1) value. */
function mix(state: number): number {
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A uniform [0, 1) generator from a 32-bit seed (without the class, so that a runtime bundle leaves Rng out). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => mix((state = (state + STEP) >>> 0));
}

export class Rng {
  state: number;
  constructor(seed: number) { this.state = seed >>> 0; }
  next(): number {
    return mix((this.state = (this.state + STEP) >>> 0));
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
