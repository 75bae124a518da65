// FNV-1a, 32 bits: the content hash behind every choice that must not depend on order or run (data
// splits, the labels --labels-fraction keeps, a teacher's sampled soft labels), small enough to
// write again in any language.
export function fnv1a(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
