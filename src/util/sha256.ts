// sha256 with Node's crypto: synchronous, for the training side (weight digests, cache keys, ids).
import { createHash } from 'node:crypto';
import type { Sha256 } from '../format/digest.js';

export const sha256: Sha256<string> = (chunks) => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};
