// Files written so that a crash never leaves half of one behind: a temp file in the same directory,
// then a rename over the target.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes `bytes` to `file` atomically (temp file in the same directory, fsync, rename). Without
 * `durable`, the fsync is skipped: readers never see a partial file, but a power cut may lose it
 * (right for caches, whose entries can be fetched again).
 */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string, options: { durable?: boolean } = {}): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Unique per call: two writers of the same file must not share a temp file.
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const handle = await fs.open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    if (options.durable !== false) await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}
