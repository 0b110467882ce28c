import type { PayoutPeriod } from "../hub/ports.js";
import type { PayoutStore } from "./ports.js";
import { PostgresPayoutStore } from "./postgres-store.js";
import { SqlitePayoutStore } from "./sqlite-store.js";

/**
 * The hub's view of the current payout period: the unpaid work a plan made now would pay, per
 * worker, from the same query `dpow payouts plan` runs (so the shares workers are told are the
 * shares a plan gives them, before its exclusions and minimum). The store opens on first use and
 * again after a failure: replicas starting at once race to create the payout tables, and a share
 * is not worth a hub that fails to start (the hub retries the read later).
 */
export function openPayoutPeriod(where: { db: string; postgresUrl?: string }): Promise<PayoutPeriod> {
  let store: Promise<PayoutStore> | undefined;
  const open = () =>
    where.postgresUrl !== undefined
      ? PostgresPayoutStore.connect(where.postgresUrl)
      : Promise.resolve().then(() => new SqlitePayoutStore(where.db));
  return Promise.resolve({
    async unpaidWeights() {
      store ??= open().catch((err: unknown) => {
        store = undefined;
        throw err;
      });
      const { workers } = await (await store).unpaidWork();
      return new Map(workers.map((w) => [w.worker, w.weight]));
    },
    async close() {
      await (await store?.catch(() => undefined))?.close();
    },
  });
}
