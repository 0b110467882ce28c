import type { Publisher } from "./ports.js";

export interface PenaltyOptions {
  /** Invalid results one connection may send within `windowMs` before it is dropped. */
  threshold: number;
  windowMs: number;
  /** How long a dropped connection's client id is refused from its address, and its results ignored. */
  coolDownMs: number;
}

export const DEFAULT_PENALTIES: PenaltyOptions = { threshold: 20, windowMs: 60_000, coolDownMs: 5 * 60_000 };

/** Entries kept at most; past it the oldest window is forgotten (an attacker can mint client ids). */
const MAX_ENTRIES = 100_000;

/**
 * The key a connection is charged under: its remote address and client id, as the broker saw them.
 * Never the payout address a result names: that field is unauthenticated, and charging it would let
 * anyone get honest workers ignored. Not the address alone either: workers behind one NAT, carrier
 * NAT or the reverse proxy that serves MQTT over WebSocket share it, and would pay for each other.
 */
export function connectionKey(publisher: Publisher): string {
  return `${publisher.address ?? "?"} ${publisher.clientId}`;
}

/**
 * Counts invalid results per connection key; a key that sends too many is ignored for a while, so a
 * broken or malicious worker cannot make the hub hash its garbage forever.
 */
export class WorkerPenalties {
  private readonly strikes = new Map<string, { count: number; since: number; bannedUntil: number }>();

  constructor(
    readonly options: PenaltyOptions = DEFAULT_PENALTIES,
    private readonly now: () => number = Date.now,
  ) {}

  isIgnored(key: string): boolean {
    const entry = this.strikes.get(key);
    return entry !== undefined && entry.bannedUntil > this.now();
  }

  /** Records an invalid result; true when this one put the key in its cool-down. */
  strike(key: string): boolean {
    const now = this.now();
    let entry = this.strikes.get(key);
    if (!entry || now - entry.since > this.options.windowMs) {
      if (!entry && this.strikes.size >= MAX_ENTRIES) this.sweep(now);
      entry = { count: 0, since: now, bannedUntil: entry?.bannedUntil ?? 0 };
      this.strikes.set(key, entry);
    }
    entry.count += 1;
    if (entry.count < this.options.threshold) return false;
    entry.bannedUntil = now + this.options.coolDownMs;
    entry.count = 0;
    entry.since = now;
    return true;
  }

  /** Forgets entries whose window and cool-down are over; everything if that frees nothing. */
  private sweep(now: number): void {
    for (const [key, entry] of this.strikes) {
      if (now - entry.since > this.options.windowMs && entry.bannedUntil <= now) this.strikes.delete(key);
    }
    if (this.strikes.size >= MAX_ENTRIES) this.strikes.clear();
  }
}
