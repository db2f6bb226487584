// Per-client rate limits on the write endpoints (log entries, certificates, SCTs, timestamps,
// dev tokens): a token bucket per client address; over the limit a 429 with Retry-After.

export interface RateLimitOptions {
  /** Write requests a client may make per minute (the bucket refills at this rate). */
  perMinute: number;
  /** Requests a client may make at once before the rate applies (default: perMinute / 6, at least 10). */
  burst?: number;
  /** Most clients tracked at once; the longest idle is forgotten first (default 100,000). */
  maxClients?: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** The write endpoints, by method and path (after any public URL prefix is removed). */
export function isWriteRequest(method: string | undefined, path: string): boolean {
  if (method !== 'POST' && method !== 'PUT') return false;
  return (
    path.endsWith('/api/v1/log/entries') ||
    path.endsWith('/api/v2/log/entries') ||
    path === '/api/v2/signingCert' ||
    path === '/api/v1/signingCert' ||
    path === '/api/v1/timestamp' ||
    path === '/ct/v1/add-chain' ||
    path === '/ct/v1/add-pre-chain' ||
    path === '/oidc/token'
  );
}

export class RateLimiter {
  readonly perMinute: number;
  readonly burst: number;
  private readonly maxClients: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: RateLimitOptions) {
    if (!(options.perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.perMinute = options.perMinute;
    this.burst = Math.max(1, Math.floor(options.burst ?? Math.max(10, options.perMinute / 6)));
    this.maxClients = options.maxClients ?? 100_000;
  }

  /** Takes one request from `client`'s bucket: 0 when allowed, else the seconds until one is. */
  take(client: string, now = Date.now()): number {
    const ratePerMs = this.perMinute / 60_000;
    let bucket = this.buckets.get(client);
    if (bucket) {
      this.buckets.delete(client); // re-inserted below: the map stays in least-recently-used order
      bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.updated) * ratePerMs);
      bucket.updated = now;
    } else {
      bucket = { tokens: this.burst, updated: now };
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
    }
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000));
  }
}
