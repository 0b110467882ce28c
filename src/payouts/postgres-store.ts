import type pg from "pg";
import { inTransaction, openPostgresPool } from "../hub/ledger/postgres-open.js";
import type { PayoutStore, Plan, PlanStatus, StoredPlan, UnpaidWork } from "./ports.js";
import {
  changedUnderRun,
  type ItemRow,
  noPlan,
  paidByAnother,
  partlyPaid,
  stillUnpaid,
  toItem,
  unpaidFromGroups,
  unpaidWinsSql,
  type WinGroupRow,
  workerSpellings,
} from "./store-rows.js";

/**
 * The payouts tables, next to the hub's in the same schema; the SQLite store's tables
 * (sqlite-store.ts) in Postgres types. Created idempotently, not in the hub's numbered migrations,
 * so the two modules evolve independently. `seq` keeps a plan's items in the order it listed them.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS payout_plans (
    id             TEXT PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    budget         TEXT NOT NULL,
    through_win_id BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'complete', 'superseded')),
    completed_at   BIGINT,
    payer          TEXT,
    skipped        TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS payout_items (
    seq               BIGSERIAL,
    plan_id           TEXT NOT NULL REFERENCES payout_plans (id),
    worker            TEXT NOT NULL,
    amount            TEXT NOT NULL,
    precache          INTEGER NOT NULL,
    ondemand          INTEGER NOT NULL,
    weight            TEXT NOT NULL,
    snapshot_precache INTEGER NOT NULL,
    snapshot_ondemand INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'paid')),
    block_hash        TEXT,
    block_json        TEXT,
    paid_at           BIGINT,
    PRIMARY KEY (plan_id, worker)
  );
  CREATE INDEX IF NOT EXISTS payout_items_worker ON payout_items (worker);
`;

/** Serializes the payout transactions that read then write plans (any 64-bit number; not the hub's). */
const PAYOUT_LOCK = 0x64706f7770;

/** BIGINT columns arrive as strings. */
interface PlanRow {
  id: string;
  created_at: string;
  budget: string;
  through_win_id: string;
  status: PlanStatus;
  completed_at: string | null;
  payer: string | null;
  skipped: string;
}

const UNPAID_WINS = unpaidWinsSql("$1", (condition) => `(COUNT(*) FILTER (WHERE ${condition}))::int`);

/**
 * Payout plans and payments in the hub's PostgreSQL ledger (scale-out mode), with the SQLite
 * store's rules. Every write is committed (durable) before its promise resolves.
 */
export class PostgresPayoutStore implements PayoutStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connects to the ledger at `url` (as `dpow server --postgres` takes it), migrating it first. */
  static async connect(url: string): Promise<PostgresPayoutStore> {
    return new PostgresPayoutStore(await openPostgresPool(url, 2, (pool) => pool.query(SCHEMA)));
  }

  async unpaidWork(): Promise<UnpaidWork> {
    return inTransaction(this.pool, async (client) => {
      // Win ids come from a sequence, so a hub's insert still in flight can hold a lower id than one
      // already visible: SHARE mode waits for those inserts (and holds new ones off for the two
      // reads), so no win at or below the plan's last id can appear later, unpaid forever.
      await client.query("LOCK TABLE wins IN SHARE MODE");
      const { rows } = await client.query<{ max: string }>("SELECT COALESCE(MAX(id), 0) AS max FROM wins");
      const max = Number(rows[0]?.max ?? 0);
      return unpaidFromGroups(max, (await client.query<WinGroupRow>(UNPAID_WINS, [max])).rows);
    });
  }

  async workerCounters(worker: string, throughWinId = Number.MAX_SAFE_INTEGER) {
    const { rows } = await this.pool.query<{ type: "precache" | "ondemand"; n: number }>(
      "SELECT type, COUNT(*)::int AS n FROM wins WHERE worker IN ($1, $2) AND id <= $3 GROUP BY type",
      [...workerSpellings(worker), throughWinId],
    );
    const counters = { precache: 0, ondemand: 0 };
    for (const row of rows) counters[row.type] = row.n;
    return counters;
  }

  async savePlan(plan: Plan): Promise<void> {
    await this.locked(async (client) => {
      const open = await client.query<{ id: string }>("SELECT id FROM payout_plans WHERE status = 'open'");
      for (const { id } of open.rows) {
        if ((await attempted(client, id)) > 0) throw partlyPaid(id);
        await client.query("UPDATE payout_plans SET status = 'superseded' WHERE id = $1", [id]);
      }
      await client.query(
        `INSERT INTO payout_plans (id, created_at, budget, through_win_id, status, skipped)
         VALUES ($1, $2, $3, $4, 'open', $5)`,
        [plan.id, plan.createdAt, plan.budget.toString(), plan.throughWinId, JSON.stringify(plan.skipped)],
      );
      for (const i of plan.items) {
        await client.query(
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
    const { rows } = await this.pool.query<PlanRow>("SELECT * FROM payout_plans WHERE id = $1", [id]);
    return rows[0] && this.toPlan(rows[0]);
  }

  async bindPayer(planId: string, payer: string): Promise<void> {
    await this.locked(async (client) => {
      const { rows } = await client.query<{ payer: string | null }>(
        "SELECT payer FROM payout_plans WHERE id = $1",
        [planId],
      );
      const row = rows[0];
      if (!row) throw noPlan(planId);
      if (row.payer !== null && row.payer !== payer && (await attempted(client, planId)) > 0) {
        throw paidByAnother(planId, row.payer);
      }
      await client.query("UPDATE payout_plans SET payer = $1 WHERE id = $2", [payer, planId]);
    });
  }

  async markSending(planId: string, worker: string, block?: { hash: string; json: string }): Promise<void> {
    // A new signed block may only take an empty slot: if another run of the plan saved one first,
    // this run stops instead of making a second, different payment.
    const slot = block ? " AND block_hash IS NULL" : "";
    await this.updateItem(
      `UPDATE payout_items SET status = 'sending', block_hash = $1, block_json = $2
       WHERE plan_id = $3 AND worker = $4 AND status != 'paid'${slot}`,
      [block?.hash ?? null, block?.json ?? null],
      planId,
      worker,
    );
  }

  async clearBlock(planId: string, worker: string, blockHash: string): Promise<void> {
    await this.updateItem(
      `UPDATE payout_items SET block_hash = NULL, block_json = NULL
       WHERE block_hash = $1 AND plan_id = $2 AND worker = $3 AND status != 'paid'`,
      [blockHash],
      planId,
      worker,
    );
  }

  async recordPayment(planId: string, worker: string, blockHash: string): Promise<void> {
    await this.updateItem(
      "UPDATE payout_items SET status = 'paid', block_hash = $1, paid_at = $2 WHERE plan_id = $3 AND worker = $4",
      [blockHash, Date.now()],
      planId,
      worker,
    );
  }

  async completePlan(planId: string): Promise<void> {
    await this.locked(async (client) => {
      const { rows } = await client.query<{ unpaid: number }>(
        "SELECT COUNT(*)::int AS unpaid FROM payout_items WHERE plan_id = $1 AND status != 'paid'",
        [planId],
      );
      const unpaid = rows[0]?.unpaid ?? 0;
      if (unpaid > 0) throw stillUnpaid(planId, unpaid);
      await client.query(
        "UPDATE payout_plans SET status = 'complete', completed_at = $1 WHERE id = $2 AND status = 'open'",
        [Date.now(), planId],
      );
    });
  }

  async history(): Promise<StoredPlan[]> {
    const { rows } = await this.pool.query<PlanRow>(
      "SELECT * FROM payout_plans ORDER BY created_at DESC, id DESC",
    );
    return Promise.all(rows.map((row) => this.toPlan(row)));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  /** Runs `sql` (its parameters `params`, then plan id and worker) and expects it to change the item. */
  private async updateItem(sql: string, params: unknown[], planId: string, worker: string): Promise<void> {
    const result = await this.pool.query(sql, [...params, planId, worker]);
    if (result.rowCount === 0) throw changedUnderRun(planId, worker);
  }

  /** A transaction holding the payouts lock: what SQLite's BEGIN IMMEDIATE gives the SQLite store. */
  private locked<T>(task: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [PAYOUT_LOCK]);
      return task(client);
    });
  }

  private async toPlan(row: PlanRow): Promise<StoredPlan> {
    const { rows } = await this.pool.query<ItemRow>(
      "SELECT * FROM payout_items WHERE plan_id = $1 ORDER BY seq",
      [row.id],
    );
    return {
      id: row.id,
      createdAt: Number(row.created_at),
      budget: BigInt(row.budget),
      throughWinId: Number(row.through_win_id),
      status: row.status,
      completedAt: row.completed_at === null ? null : Number(row.completed_at),
      payer: row.payer,
      skipped: JSON.parse(row.skipped),
      items: rows.map(toItem),
    };
  }
}

/** How many payments of the plan were attempted (sending or paid). */
async function attempted(client: pg.PoolClient, planId: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT COUNT(*)::int AS n FROM payout_items WHERE plan_id = $1 AND status != 'pending'",
    [planId],
  );
  return rows[0]?.n ?? 0;
}
