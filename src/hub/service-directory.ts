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

  constructor(
    private readonly ledger: Ledger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The service when `apiKey` is its key, else undefined (unknown name and wrong key alike). */
  async authenticate(name: string, apiKey: string): Promise<ServiceRecord | undefined> {
    let record = await this.lookup(name);
    // A miss or a wrong key may be a service added or re-keyed a moment ago: read it afresh once.
    if (!record || !apiKeyMatches(apiKey, record.keyHash)) record = await this.lookup(name, true);
    return record && apiKeyMatches(apiKey, record.keyHash) ? record : undefined;
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
