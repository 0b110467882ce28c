import { SPELLINGS, type SqlDatabase, type SqlExecutor } from "../sql/database.js";
import type { PayoutStore, Plan, PlanStatus, StoredPlan, UnpaidWork } from "./ports.js";
import {
  changedUnderRun,
  type ItemRow,
  noPlan,
  paidByAnother,
  partlyPaid,
  stillUnpaid,
  toItem,
  UNPAID_WINS_SQL,
  unpaidFromGroups,
  type WinGroupRow,
  workerSpellings,
} from "./store-rows.js";

/**
 * Serializes the payout transactions that read then write plans (any 64-bit number; not the
 * migrations'): what SQLite's write lock gives, on PostgreSQL.
 */
const PAYOUT_LOCK = 0x64706f7770;

interface PlanRow {
  id: string;
  created_at: number;
  budget: string;
  through_win_id: number;
  status: PlanStatus;
  completed_at: number | null;
  payer: string | null;
  skipped: string;
}

/**
 * Payout plans and payments beside the hub's wins, over either engine (sqlite-store.ts and
 * postgres-store.ts open it). Every write is committed (durable) before its promise resolves.
 */
export class SqlPayoutStore implements PayoutStore {
  constructor(private readonly db: SqlDatabase) {}

  async unpaidWork(): Promise<UnpaidWork> {
    return this.db.transaction(
      async (tx) => {
        if (tx.dialect === "postgres") {
          // Win ids come from a sequence, so a hub's insert still in flight can hold a lower id
          // than one already visible: SHARE mode waits for those inserts (and holds new ones off
          // for the two reads), so no win at or below the plan's last id can appear later, unpaid
          // forever. SQLite has one writer at a time, and this transaction reads one snapshot.
          await tx.run("LOCK TABLE wins IN SHARE MODE");
        }
        const row = await tx.get<{ max: number }>("SELECT COALESCE(MAX(id), 0) AS max FROM wins");
        const max = row?.max ?? 0;
        return unpaidFromGroups(max, await tx.all<WinGroupRow>(UNPAID_WINS_SQL, [max]));
      },
      { readOnly: true },
    );
  }

  async workerCounters(worker: string, throughWinId = Number.MAX_SAFE_INTEGER) {
    const rows = await this.db.all<{ type: "precache" | "ondemand"; n: number }>(
      "SELECT type, COUNT(*) AS n FROM wins WHERE worker IN ($1, $2) AND id <= $3 GROUP BY type",
      [...workerSpellings(worker), throughWinId],
    );
    const counters = { precache: 0, ondemand: 0 };
    for (const row of rows) counters[row.type] = row.n;
    return counters;
  }

  async savePlan(plan: Plan): Promise<void> {
    await this.locked(async (tx) => {
      for (const { id } of await tx.all<{ id: string }>(
        "SELECT id FROM payout_plans WHERE status = 'open'",
      )) {
        if ((await attempted(tx, id)) > 0) throw partlyPaid(id);
        await tx.run("UPDATE payout_plans SET status = 'superseded' WHERE id = $1", [id]);
      }
      await tx.run(
        `INSERT INTO payout_plans (id, created_at, budget, through_win_id, status, skipped)
         VALUES ($1, $2, $3, $4, 'open', $5)`,
        [plan.id, plan.createdAt, plan.budget.toString(), plan.throughWinId, JSON.stringify(plan.skipped)],
      );
      for (const i of plan.items) {
        await tx.run(
          `INSERT INTO payout_items (plan_id, worker, amount, precache, ondemand, weight,
             snapshot_precache, snapshot_ondemand, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')`,
          [
            plan.id,
            i.worker,
            i.amount.toString(),
            i.precache,
            i.ondemand,
            i.weight.toString(),
            i.snapshotPrecache,
            i.snapshotOndemand,
          ],
        );
      }
    });
  }

  async plan(id: string): Promise<StoredPlan | undefined> {
    const row = await this.db.get<PlanRow>("SELECT * FROM payout_plans WHERE id = $1", [id]);
    return row && this.toPlan(row);
  }

  async bindPayer(planId: string, payer: string): Promise<void> {
    await this.locked(async (tx) => {
      const row = await tx.get<{ payer: string | null }>("SELECT payer FROM payout_plans WHERE id = $1", [
        planId,
      ]);
      if (!row) throw noPlan(planId);
      if (row.payer !== null && row.payer !== payer && (await attempted(tx, planId)) > 0) {
        throw paidByAnother(planId, row.payer);
      }
      await tx.run("UPDATE payout_plans SET payer = $1 WHERE id = $2", [payer, planId]);
    });
  }

  async markSending(planId: string, worker: string, block?: { hash: string; json: string }): Promise<void> {
    // A new signed block may only take an empty slot: if another run of the plan saved one first,
    // this run stops instead of making a second, different payment.
    const slot = block ? " AND block_hash IS NULL" : "";
    await this.updateItem(
      planId,
      worker,
      `UPDATE payout_items SET status = 'sending', block_hash = $3, block_json = $4
       WHERE plan_id = $1 AND worker = $2 AND status != 'paid'${slot}`,
      [block?.hash ?? null, block?.json ?? null],
    );
  }

  async clearBlock(planId: string, worker: string, blockHash: string): Promise<void> {
    await this.updateItem(
      planId,
      worker,
      `UPDATE payout_items SET block_hash = NULL, block_json = NULL
       WHERE plan_id = $1 AND worker = $2 AND block_hash = $3 AND status != 'paid'`,
      [blockHash],
    );
  }

  async recordPayment(planId: string, worker: string, blockHash: string): Promise<void> {
    await this.updateItem(
      planId,
      worker,
      "UPDATE payout_items SET status = 'paid', block_hash = $3, paid_at = $4 WHERE plan_id = $1 AND worker = $2",
      [blockHash, Date.now()],
    );
  }

  async completePlan(planId: string): Promise<void> {
    await this.locked(async (tx) => {
      const row = await tx.get<{ unpaid: number }>(
        "SELECT COUNT(*) AS unpaid FROM payout_items WHERE plan_id = $1 AND status != 'paid'",
        [planId],
      );
      const unpaid = row?.unpaid ?? 0;
      if (unpaid > 0) throw stillUnpaid(planId, unpaid);
      await tx.run(
        "UPDATE payout_plans SET status = 'complete', completed_at = $1 WHERE id = $2 AND status = 'open'",
        [Date.now(), planId],
      );
    });
  }

  async history(): Promise<StoredPlan[]> {
    const rows = await this.db.all<PlanRow>("SELECT * FROM payout_plans ORDER BY created_at DESC, id DESC");
    return Promise.all(rows.map((row) => this.toPlan(row)));
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  /**
   * Runs `sql` on the item of `planId` and `worker` (its `$1` and `$2`, then `params`) and expects
   * it to change that item.
   */
  private async updateItem(
    planId: string,
    worker: string,
    sql: string,
    params: Array<string | number | null>,
  ) {
    if ((await this.db.run(sql, [planId, worker, ...params])) === 0) throw changedUnderRun(planId, worker);
  }

  /** A write transaction that runs alone among the payout store's (see PAYOUT_LOCK). */
  private locked<T>(task: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction(task, { lock: PAYOUT_LOCK });
  }

  private async toPlan(row: PlanRow): Promise<StoredPlan> {
    const items = await this.db.all<ItemRow>(
      `SELECT * FROM payout_items WHERE plan_id = $1 ORDER BY ${SPELLINGS[this.db.dialect].insertionOrder}`,
      [row.id],
    );
    return {
      id: row.id,
      createdAt: row.created_at,
      budget: BigInt(row.budget),
      throughWinId: row.through_win_id,
      status: row.status,
      completedAt: row.completed_at,
      payer: row.payer,
      skipped: JSON.parse(row.skipped),
      items: items.map(toItem),
    };
  }
}

/** How many payments of the plan were attempted (sending or paid). */
async function attempted(tx: SqlExecutor, planId: string): Promise<number> {
  const row = await tx.get<{ n: number }>(
    "SELECT COUNT(*) AS n FROM payout_items WHERE plan_id = $1 AND status != 'pending'",
    [planId],
  );
  return row?.n ?? 0;
}
