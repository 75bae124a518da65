// Deterministic subsets of labelled examples: a limit that draws every class in proportion (the first
// items of a split can all be of one class: spam's first 200 are ham), and the fraction of labels a
// run keeps, chosen by each example's content so that twin runs keep the same ones.
import { fnv1a } from '../format/hash.js';

/** The indices of each class's examples, in order. */
function indicesByClass(examples: { label: number }[]): Map<number, number[]> {
  const byClass = new Map<number, number[]>();
  examples.forEach((e, i) => { const list = byClass.get(e.label); if (list) list.push(i); else byClass.set(e.label, [i]); });
  return byClass;
}

/** At most `limit` examples, each class in proportion to its share (its first ones), in their order. */
export function stratifiedLimit<T extends { label: number }>(examples: T[], limit: number): T[] {
  if (examples.length <= limit) return examples;
  const classes = [...indicesByClass(examples).values()];
  const exact = classes.map((c) => (limit * c.length) / examples.length);
  const quota = exact.map(Math.floor);
  // The places left by rounding down go to the largest remainders.
  const order = exact.map((x, i) => [x - quota[i]!, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; k < limit - quota.reduce((a, b) => a + b, 0); k++) quota[order[k]![1]]!++;
  const chosen = classes.flatMap((c, i) => c.slice(0, quota[i]!)).sort((a, b) => a - b);
  return chosen.map((i) => examples[i]!);
}

/**
 * The examples whose labels a run keeps, a fraction of each class (at least one) chosen by the
 * hash of each example's content, and the rest, whose labels it drops.
 */
export function keepLabels<T extends { label: number }>(examples: T[], fraction: number, content: (e: T) => string | Uint8Array): { kept: T[]; rest: T[] } {
  const hash = examples.map((e) => fnv1a(content(e)));
  const keep = new Set<number>();
  for (const list of indicesByClass(examples).values()) {
    const sorted = [...list].sort((a, b) => hash[a]! - hash[b]! || a - b);
    for (const i of sorted.slice(0, Math.max(1, Math.ceil(fraction * list.length)))) keep.add(i);
  }
  return { kept: examples.filter((_, i) => keep.has(i)), rest: examples.filter((_, i) => !keep.has(i)) };
}
