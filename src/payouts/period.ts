import type { PayoutPeriod } from "../hub/ports.js";
import type { PayoutStore } from "./ports.js";
import { PostgresPayoutStore } from "./postgres-store.js";
import { SqlitePayoutStore } from "./sqlite-store.js";

/**
 * The hub's view of the current payout period: the unpaid work a plan made now would pay, per
 * worker, from the same query `dpow payouts plan` runs (so the shares workers are told are the
 * shares a plan gives them, before its exclusions and minimum).
 */
export async function openPayoutPeriod(where: { db: string; postgresUrl?: string }): Promise<PayoutPeriod> {
  const store: PayoutStore =
    where.postgresUrl !== undefined
      ? await PostgresPayoutStore.connect(where.postgresUrl)
      : new SqlitePayoutStore(where.db);
  return {
    async unpaidWeights() {
      const { workers } = await store.unpaidWork();
      return new Map(workers.map((w) => [w.worker, w.weight]));
    },
    close: () => store.close(),
  };
}
