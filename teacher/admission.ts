// Who may use the teacher how much: at most so many connections from one address, and for each
// token (or, without tokens, each address) a request rate, as a token bucket that allows a burst of
// one second's worth. Refusals are `busy` and `rate_limited`, which clients back off from.
export interface AdmissionLimits {
  /** Open connections from one remote address at most. */
  connectionsPerAddress: number;
  /** Requests per second per token (per address without tokens); undefined: no limit. */
  requestsPerSecond?: number;
}

interface Bucket { tokens: number; at: number }

export class Admission {
  private readonly open = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: AdmissionLimits) {}

  /** Counts a new connection from `address`; false (and not counted) when the address has its fill. */
  connect(address: string): boolean {
    const n = this.open.get(address) ?? 0;
    if (n >= this.limits.connectionsPerAddress) return false;
    this.open.set(address, n + 1);
    return true;
  }

  disconnect(address: string): void {
    const n = (this.open.get(address) ?? 1) - 1;
    if (n > 0) this.open.set(address, n);
    else this.open.delete(address);
  }

  /** Whether a request under `key` may go now; it takes one from the key's bucket. */
  take(key: string, now = performance.now() / 1000): boolean {
    const rate = this.limits.requestsPerSecond;
    if (!rate) return true;
    // A burst of one second's worth, and at least one request (a rate below 1 a second still lets one through).
    const burst = Math.max(1, rate);
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
