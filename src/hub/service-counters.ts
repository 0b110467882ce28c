import type { Ledger, WorkCounters } from "./ports.js";

/**
 * Requests served per service, summed in memory and written to the ledger in one transaction
 * every flush: one write per second instead of one per request. These are usage statistics, not
 * money (worker credits are written per win, before anything is acknowledged).
 */
export class ServiceCounters {
  private pending = new Map<string, WorkCounters>();

  constructor(private readonly ledger: Ledger) {}

  count(service: string, kind: keyof WorkCounters): void {
    let counters = this.pending.get(service);
    if (!counters) {
      counters = { precache: 0, ondemand: 0 };
      this.pending.set(service, counters);
    }
    counters[kind] += 1;
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await this.ledger.addServiceCounts(batch);
  }
}
