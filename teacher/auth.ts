// Bearer tokens from a file (one per line, # comments), compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: string[]) {
    // Comparing fixed-length digests keeps the comparison time independent of the token's length.
    this.digests = tokens.map((t) => createHash('sha256').update(t).digest());
  }

  static fromFile(file: string): TokenSet {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { throw new Error(`token file '${file}' cannot be read`); }
    const tokens = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    if (tokens.length === 0) throw new Error(`token file '${file}' holds no tokens (one per line)`);
    return new TokenSet(tokens);
  }

  get size(): number { return this.digests.length; }

  accepts(token: string | undefined): boolean {
    return this.match(token) !== undefined;
  }

  /** The matching token's sha256 (hex), which names it in rate limits and logs; undefined if none. */
  match(token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    const d = createHash('sha256').update(token).digest();
    let ok = false;
    // Check every token so that the time does not tell which one matched.
    for (const digest of this.digests) ok = timingSafeEqual(d, digest) || ok;
    return ok ? d.toString('hex') : undefined;
  }
}
