export interface PenaltyOptions {
  /** Invalid results a worker may send within `windowMs` before it is ignored. */
  threshold: number;
  windowMs: number;
  /** How long a worker past the threshold is ignored. */
  coolDownMs: number;
}

export const DEFAULT_PENALTIES: PenaltyOptions = { threshold: 20, windowMs: 60_000, coolDownMs: 5 * 60_000 };

/**
 * Counts invalid results per payout address; an address that sends too many is ignored for a
 * while, so a broken or malicious worker cannot make the hub hash its garbage forever.
 */
export class WorkerPenalties {
  private readonly strikes = new Map<string, { count: number; since: number; bannedUntil: number }>();

  constructor(
    private readonly options: PenaltyOptions = DEFAULT_PENALTIES,
    private readonly now: () => number = Date.now,
  ) {}

  isIgnored(address: string): boolean {
    const entry = this.strikes.get(address);
    return entry !== undefined && entry.bannedUntil > this.now();
  }

  /** Records an invalid result; true when this one put the worker in its cool-down. */
  strike(address: string): boolean {
    const now = this.now();
    let entry = this.strikes.get(address);
    if (!entry || now - entry.since > this.options.windowMs) {
      if (this.strikes.size > 100_000) this.strikes.clear();
      entry = { count: 0, since: now, bannedUntil: entry?.bannedUntil ?? 0 };
      this.strikes.set(address, entry);
    }
    entry.count += 1;
    if (entry.count < this.options.threshold) return false;
    entry.bannedUntil = now + this.options.coolDownMs;
    entry.count = 0;
    entry.since = now;
    return true;
  }
}
