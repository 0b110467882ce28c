/**
 * A Map whose entries expire and whose size is bounded: when full, the oldest entry goes first.
 * Expired entries are dropped when read and swept when the map grows, so memory stays bounded
 * even if nobody reads them again.
 */
export class ExpiringMap<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    // Re-inserting moves the key to the newest position, so eviction order follows last write.
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    if (this.entries.size > this.maxSize) this.evict();
  }

  /** Sets only when absent (or expired); true when this call set it. */
  setIfAbsent(key: K, value: V, ttlMs: number): boolean {
    if (this.get(key) !== undefined) return false;
    this.set(key, value, ttlMs);
    return true;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Live entries (expired ones are swept first). */
  get size(): number {
    this.sweep();
    return this.entries.size;
  }

  /** Drops the oldest writes first: O(1) per call, unlike a sweep. */
  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxSize) break;
      this.entries.delete(key);
    }
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}
