// How the micro benches time a call: p50 of n runs after a warm-up of 10 runs and at least a second
// (V8 tiers wasm up from its baseline compiler in the background, so a short warm-up times Liftoff).
export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

export async function timeIt(f: () => unknown, n: number): Promise<number> {
  const warm = performance.now();
  for (let i = 0; i < 10 || performance.now() - warm < 1000; i++) await f();
  const times: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await f(); times.push(performance.now() - t); }
  return median(times);
}
