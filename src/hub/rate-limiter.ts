/**
 * Per-service token buckets: each service may make `rate` requests per second on average and
 * `burst` at once. Rate 0 means unlimited.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one token for `key`; false when the bucket is empty (the request is throttled). */
  take(key: string, rate: number, burst: number): boolean {
    if (rate <= 0) return true;
    const now = this.now();
    const capacity = Math.max(1, burst);
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return allowed;
  }
}
