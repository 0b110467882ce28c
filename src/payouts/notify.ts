import type { Broker } from "../hub/ports.js";
import { topics } from "../protocol/topics.js";
import type { PayoutStore, StoredPlan } from "./ports.js";
import { workerSpellings } from "./store-rows.js";

/**
 * Tells each paid worker on `client/ADDRESS` its counters and the snapshot the payout covered
 * (docs/wire-protocol.md), so a worker client can show the work done since its last payout. Workers are keyed
 * in canonical `nano_` form, but one may listen on its `xrb_` spelling: both topics are told.
 */
export async function publishSnapshots(
  broker: Broker,
  store: PayoutStore,
  plan: StoredPlan,
): Promise<number> {
  let sent = 0;
  for (const item of plan.items) {
    if (item.status !== "paid") continue;
    const counters = await store.workerCounters(item.worker);
    const payload = {
      ...counters,
      snapshot_precache: item.snapshotPrecache,
      snapshot_ondemand: item.snapshotOndemand,
    };
    for (const spelling of new Set(workerSpellings(item.worker))) {
      await broker.publish(topics.client(spelling), JSON.stringify(payload), { qos: 1 });
    }
    sent++;
  }
  return sent;
}
