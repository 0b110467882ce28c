import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { JobType, Ledger } from "../../src/hub/ports.js";
import { publicKeyToAddress } from "../../src/nano/account.js";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../../src/nano/difficulty.js";
import { buildPlan } from "../../src/payouts/plan.js";
import { PayoutStateError, type PayoutStore } from "../../src/payouts/ports.js";
import { WEIGHT_UNIT } from "../../src/payouts/weights.js";

/** A hub ledger and a payout store over the same database, fresh for one test. */
export interface PayoutDatabase {
  ledger: Ledger;
  store: PayoutStore;
  /** Closes both and deletes the database. */
  dispose(): Promise<void>;
}

const alice = publicKeyToAddress(new Uint8Array(32).fill(1));
const bob = publicKeyToAddress(new Uint8Array(32).fill(2));

/** The PayoutStore contract: every store answers it the same over wins its hub ledger records. */
export function payoutStoreContract(name: string, open: () => Promise<PayoutDatabase>): void {
  let database: PayoutDatabase;
  let ledger: Ledger;
  let store: PayoutStore;
  let job = 0;

  function win(worker: string, type: JobType = "ondemand", difficulty = SEND_THRESHOLD) {
    job++;
    return ledger.recordWin({
      jobId: `job-${job}`,
      hash: job.toString(16).padStart(64, "0"),
      type,
      worker,
      service: type === "ondemand" ? "svc" : null,
      difficulty,
      work: 0n,
      at: Date.now(),
    });
  }

  async function payInFull(plan: ReturnType<typeof buildPlan>) {
    await store.savePlan(plan);
    for (const item of plan.items) await store.recordPayment(plan.id, item.worker, "AB".repeat(32));
    await store.completePlan(plan.id);
  }

  describe(`${name} payout store over the hub's wins`, () => {
    beforeEach(async () => {
      database = await open();
      ({ ledger, store } = database);
    });
    afterEach(() => database.dispose());

    it("counts unpaid wins by type and weighs them by difficulty", async () => {
      await win(alice, "ondemand");
      await win(alice, "precache", RECEIVE_THRESHOLD);
      await win(bob, "precache");
      const unpaid = await store.unpaidWork();
      expect(unpaid.throughWinId).toBe(3);
      expect(unpaid.workers).toEqual([
        expect.objectContaining({
          worker: alice,
          ondemand: 1,
          precache: 1,
          weight: WEIGHT_UNIT + WEIGHT_UNIT / 64n,
        }),
        expect.objectContaining({ worker: bob, ondemand: 0, precache: 1, weight: WEIGHT_UNIT }),
      ]);
    });

    it("a completed payout pays up to its last win; later and carried-over work stays unpaid", async () => {
      await win(alice);
      await win(alice);
      await win(bob);
      const first = buildPlan(await store.unpaidWork(), { budget: 100n, minWorks: 2, exclude: [] });
      expect(first.items.map((i) => i.worker)).toEqual([alice]);
      await payInFull(first);
      await win(alice);
      await win(bob);
      const unpaid = await store.unpaidWork();
      expect(unpaid.workers.map((w) => [w.worker, w.ondemand, w.lifetimeOndemand])).toEqual([
        [alice, 1, 3],
        [bob, 2, 2],
      ]);
      expect(await store.workerCounters(alice)).toEqual({ precache: 0, ondemand: 3 });
      expect((await store.history()).map((p) => p.status)).toEqual(["complete"]);
    });

    it("sums a ledger's old xrb_ rows with the nano_ ones of the same key: one worker, paid once", async () => {
      const legacy = `xrb_${alice.slice(5)}`;
      // A ledger from before canonical keying: wins (and a paid plan item) under both spellings.
      await win(legacy);
      await win(alice);
      const first = buildPlan(await store.unpaidWork(), { budget: 100n, minWorks: 1, exclude: [] });
      expect(first.items.map((i) => [i.worker, i.ondemand])).toEqual([[alice, 2]]);
      await payInFull(first);
      await win(legacy);
      await win(alice);
      const unpaid = await store.unpaidWork();
      expect(unpaid.workers.map((w) => [w.worker, w.ondemand, w.lifetimeOndemand])).toEqual([[alice, 2, 4]]);
      expect(await store.workerCounters(alice)).toEqual({ precache: 0, ondemand: 4 });
      await payInFull(buildPlan(unpaid, { budget: 100n, minWorks: 1, exclude: [] }));
      expect((await store.unpaidWork()).workers).toEqual([]);
    });

    it("a saved signed block is never replaced by another run's block, only cleared when proven absent", async () => {
      await win(alice);
      const plan = buildPlan(await store.unpaidWork(), { budget: 100n, minWorks: 1, exclude: [] });
      await store.savePlan(plan);
      await store.markSending(plan.id, alice, { hash: "A1".repeat(32), json: "{}" });
      await expect(store.markSending(plan.id, alice, { hash: "B2".repeat(32), json: "{}" })).rejects.toThrow(
        /another `dpow payouts run/,
      );
      await expect(store.clearBlock(plan.id, alice, "B2".repeat(32))).rejects.toThrow(PayoutStateError);
      await store.clearBlock(plan.id, alice, "A1".repeat(32));
      await store.markSending(plan.id, alice, { hash: "B2".repeat(32), json: "{}" });
      expect((await store.plan(plan.id))?.items[0]).toMatchObject({
        status: "sending",
        blockHash: "B2".repeat(32),
      });
    });

    it("a new plan replaces an untouched open plan but not one with a payment attempted", async () => {
      await win(alice);
      const first = buildPlan(await store.unpaidWork(), { budget: 100n, minWorks: 1, exclude: [] });
      await store.savePlan(first);
      const second = buildPlan(await store.unpaidWork(), { budget: 50n, minWorks: 1, exclude: [] });
      await store.savePlan(second);
      expect((await store.plan(first.id))?.status).toBe("superseded");
      await store.markSending(second.id, alice);
      const third = buildPlan(await store.unpaidWork(), { budget: 10n, minWorks: 1, exclude: [] });
      await expect(store.savePlan(third)).rejects.toThrow(PayoutStateError);
      await expect(store.completePlan(second.id)).rejects.toThrow(/1 unpaid/);
    });
  });
}
