// collectGarbage(): a full collection on demand, without --expose-gc.
import { describe, expect, it } from 'vitest';
import { collectGarbage } from '../../src/util/gc.js';

describe('collectGarbage', () => {
  it('frees an unreachable buffer at once', async () => {
    const ref = new WeakRef(new ArrayBuffer(1 << 20));
    // A WeakRef keeps its target alive until the end of the job that made it.
    await new Promise((resolve) => setTimeout(resolve, 0));
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
  });
});
