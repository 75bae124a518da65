// The three Transformer LM sizes the training benches compare at (issue 19): a teacher, a student,
// and the original 4-layer bench model.
export interface LmSize { layers: number; dim: number; heads: number; ff: number; ctx: number; batch: number; vocab: number }

export const SIZES: Record<string, LmSize> = {
  teacher: { layers: 6, dim: 384, heads: 6, ff: 1536, ctx: 128, batch: 16, vocab: 4000 },
  student: { layers: 2, dim: 64, heads: 2, ff: 256, ctx: 256, batch: 32, vocab: 4000 },
  bench: { layers: 4, dim: 256, heads: 4, ff: 1024, ctx: 128, batch: 32, vocab: 256 },
};
