import { apiKeyMatches } from "./api-keys.js";
import type { Ledger, ServiceRecord } from "./ports.js";

/** How long a service read from the ledger is trusted: changes made by the operator CLI show within it. */
const TTL_MS = 2000;

/**
 * Looks services up for authentication, with a short cache in front of the ledger so a request
 * costs no database read, while services added, changed, re-keyed or deleted with `dpow service`
 * (another process on the same database) take effect within two seconds.
 */
export class ServiceDirectory {
  private readonly cache = new Map<string, { record: ServiceRecord | undefined; until: number }>();
  /** Per service, the key that last matched its stored hash (see matches). */
  private readonly matched = new Map<string, { keyHash: string; key: string }>();

  constructor(
    private readonly ledger: Ledger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The service when `apiKey` is its key, else undefined (unknown name and wrong key alike). */
  async authenticate(name: string, apiKey: string): Promise<ServiceRecord | undefined> {
    let record = await this.lookup(name);
    // A miss or a wrong key may be a service added or re-keyed a moment ago: read it afresh once.
    if (!record || !this.matches(record, apiKey)) record = await this.lookup(name, true);
    return record && this.matches(record, apiKey) ? record : undefined;
  }

  /**
   * apiKeyMatches, with the last matching key remembered: a service's next request costs a
   * constant-time compare instead of a SHA-256 (whose hash object per request also slows every
   * garbage collection). A key that differs from the remembered one cannot match the same hash.
   */
  private matches(record: ServiceRecord, apiKey: string): boolean {
    const known = this.matched.get(record.name);
    if (known?.keyHash === record.keyHash) return sameKey(apiKey, known.key);
    if (!apiKeyMatches(apiKey, record.keyHash)) return false;
    if (this.matched.size > 10_000) this.matched.clear();
    this.matched.set(record.name, { keyHash: record.keyHash, key: apiKey });
    return true;
  }

  private async lookup(name: string, fresh = false): Promise<ServiceRecord | undefined> {
    const cached = this.cache.get(name);
    const now = this.now();
    if (!fresh && cached && cached.until > now) return cached.record;
    // A fresh read is rate-limited too, so a stream of bad keys cannot turn into a stream of reads.
    if (fresh && cached && cached.until - TTL_MS + 200 > now) return cached.record;
    const record = await this.ledger.service(name);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(name, { record, until: now + TTL_MS });
    return record;
  }
}

/**
 * Compares two keys in time that depends only on their length, as timingSafeEqual does, without
 * the two Buffers per request that timingSafeEqual needs.
 */
function sameKey(given: string, known: string): boolean {
  if (given.length !== known.length) return false;
  let difference = 0;
  for (let i = 0; i < known.length; i++) difference |= given.charCodeAt(i) ^ known.charCodeAt(i);
  return difference === 0;
}
