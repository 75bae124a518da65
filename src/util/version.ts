// minnow's own version, from package.json: found from the source tree (tsx) or from dist (built).
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try { return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')).version as string; } catch { /* next */ }
  }
  return 'unknown';
}
