// tiny-inflate ships no types: it inflates a raw deflate stream into `dest` (sized to the output)
// and returns the part of `dest` it filled.
declare module 'tiny-inflate' {
  export default function inflate(source: Uint8Array, dest: Uint8Array): Uint8Array;
}
