import type Database from "better-sqlite3";
import { openSqlite } from "../hub/ledger/sqlite-open.js";
import { migrate } from "../hub/ledger/sqlite-schema.js";
import { parseU64 } from "../nano/hex.js";
import {
  type ItemStatus,
  PayoutStateError,
  type PayoutStore,
  type Plan,
  type PlanStatus,
  type StoredItem,
  type StoredPlan,
  type UnpaidWork,
  type WorkerWork,
} from "./ports.js";
import { winWeight } from "./weights.js";

/**
 * The payouts tables, next to the hub's in the same file. Created idempotently here and not in the
 * hub's numbered migrations, so the two modules evolve independently.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS payout_plans (
    id             TEXT PRIMARY KEY,
    created_at     INTEGER NOT NULL,
    budget         TEXT NOT NULL,
    through_win_id INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'complete', 'superseded')),
    completed_at   INTEGER,
    payer          TEXT,
    skipped        TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS payout_items (
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
    paid_at           INTEGER,
    PRIMARY KEY (plan_id, worker)
  );
  CREATE INDEX IF NOT EXISTS payout_items_worker ON payout_items (worker);
`;

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

interface ItemRow {
  worker: string;
  amount: string;
  precache: number;
  ondemand: number;
  weight: string;
  snapshot_precache: number;
  snapshot_ondemand: number;
  status: ItemStatus;
  block_hash: string | null;
  block_json: string | null;
  paid_at: number | null;
}

/** Each worker is paid for wins after the last plan that paid it and was completed. */
const UNPAID_WINS = `
  WITH paid AS (
    SELECT i.worker, MAX(p.through_win_id) AS through
    FROM payout_items i JOIN payout_plans p ON p.id = i.plan_id
    WHERE p.status = 'complete' GROUP BY i.worker
  )
  SELECT w.worker, w.type, w.difficulty, COUNT(*) AS n,
         SUM(w.id > COALESCE(paid.through, 0)) AS unpaid
  FROM wins w LEFT JOIN paid ON paid.worker = w.worker
  WHERE w.id <= ?
  GROUP BY w.worker, w.type, w.difficulty`;

export class SqlitePayoutStore implements PayoutStore {
  private readonly db: Database.Database;

  /** Opens (or creates) the hub's database file; the hub's schema is applied first so wins exist. */
  constructor(file: string) {
    // Payments are rare and a payment recorded then lost could be paid twice: always fsync.
    this.db = openSqlite(file, "full");
    migrate(this.db);
    this.db.exec(SCHEMA);
  }

  async unpaidWork(): Promise<UnpaidWork> {
    return this.db
      .transaction(() => {
        const { max } = this.db.prepare("SELECT COALESCE(MAX(id), 0) AS max FROM wins").get() as {
          max: number;
        };
        const rows = this.db.prepare(UNPAID_WINS).all(max) as Array<{
          worker: string;
          type: "precache" | "ondemand";
          difficulty: string;
          n: number;
          unpaid: number;
        }>;
        const workers = new Map<string, WorkerWork>();
        for (const row of rows) {
          const w = workers.get(row.worker) ?? {
            worker: row.worker,
            precache: 0,
            ondemand: 0,
            weight: 0n,
            lifetimePrecache: 0,
            lifetimeOndemand: 0,
          };
          w[row.type] += row.unpaid;
          w[row.type === "precache" ? "lifetimePrecache" : "lifetimeOndemand"] += row.n;
          w.weight += winWeight(parseU64(row.difficulty, "difficulty")) * BigInt(row.unpaid);
          workers.set(row.worker, w);
        }
        const unpaid = [...workers.values()].filter((w) => w.precache + w.ondemand > 0);
        return { throughWinId: max, workers: unpaid.sort((a, b) => a.worker.localeCompare(b.worker)) };
      })
      .deferred();
  }

  async workerCounters(worker: string, throughWinId = Number.MAX_SAFE_INTEGER) {
    const rows = this.db
      .prepare("SELECT type, COUNT(*) AS n FROM wins WHERE worker = ? AND id <= ? GROUP BY type")
      .all(worker, throughWinId) as Array<{ type: "precache" | "ondemand"; n: number }>;
    const counters = { precache: 0, ondemand: 0 };
    for (const row of rows) counters[row.type] = row.n;
    return counters;
  }

  async savePlan(plan: Plan): Promise<void> {
    this.db
      .transaction(() => {
        for (const open of this.db.prepare("SELECT id FROM payout_plans WHERE status = 'open'").all() as {
          id: string;
        }[]) {
          if (this.attempted(open.id) > 0) {
            throw new PayoutStateError(
              `payout plan ${open.id} is partly paid: finish it with \`dpow payouts run ${open.id}\` before planning the next`,
            );
          }
          this.db.prepare("UPDATE payout_plans SET status = 'superseded' WHERE id = ?").run(open.id);
        }
        this.db
          .prepare(
            `INSERT INTO payout_plans (id, created_at, budget, through_win_id, status, skipped)
             VALUES (?, ?, ?, ?, 'open', ?)`,
          )
          .run(
            plan.id,
            plan.createdAt,
            plan.budget.toString(),
            plan.throughWinId,
            JSON.stringify(plan.skipped),
          );
        const insert = this.db.prepare(
          `INSERT INTO payout_items (plan_id, worker, amount, precache, ondemand, weight,
             snapshot_precache, snapshot_ondemand, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
        );
        for (const i of plan.items) {
          insert.run(
            plan.id,
            i.worker,
            i.amount.toString(),
            i.precache,
            i.ondemand,
            i.weight.toString(),
            i.snapshotPrecache,
            i.snapshotOndemand,
          );
        }
      })
      .immediate();
  }

  async plan(id: string): Promise<StoredPlan | undefined> {
    const row = this.db.prepare("SELECT * FROM payout_plans WHERE id = ?").get(id) as PlanRow | undefined;
    return row && this.toPlan(row);
  }

  async bindPayer(planId: string, payer: string): Promise<void> {
    this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT payer FROM payout_plans WHERE id = ?").get(planId) as
          | { payer: string | null }
          | undefined;
        if (!row) throw new PayoutStateError(`no payout plan ${planId}`);
        if (row.payer !== null && row.payer !== payer && this.attempted(planId) > 0) {
          throw new PayoutStateError(
            `payout plan ${planId} is being paid by ${row.payer}; resume it with the same options (another payer could pay twice)`,
          );
        }
        this.db.prepare("UPDATE payout_plans SET payer = ? WHERE id = ?").run(payer, planId);
      })
      .immediate();
  }

  async markSending(planId: string, worker: string, block?: { hash: string; json: string }): Promise<void> {
    // A new signed block may only take an empty slot: if another run of the plan saved one first,
    // this run stops instead of making a second, different payment.
    const slot = block ? " AND block_hash IS NULL" : "";
    this.updateItem(
      `UPDATE payout_items SET status = 'sending', block_hash = ?, block_json = ?
       WHERE plan_id = ? AND worker = ? AND status != 'paid'${slot}`,
      block?.hash ?? null,
      block?.json ?? null,
      planId,
      worker,
    );
  }

  async clearBlock(planId: string, worker: string, blockHash: string): Promise<void> {
    this.updateItem(
      `UPDATE payout_items SET block_hash = NULL, block_json = NULL
       WHERE block_hash = ? AND plan_id = ? AND worker = ? AND status != 'paid'`,
      blockHash,
      planId,
      worker,
    );
  }

  async recordPayment(planId: string, worker: string, blockHash: string): Promise<void> {
    this.updateItem(
      "UPDATE payout_items SET status = 'paid', block_hash = ?, paid_at = ? WHERE plan_id = ? AND worker = ?",
      blockHash,
      Date.now(),
      planId,
      worker,
    );
  }

  async completePlan(planId: string): Promise<void> {
    this.db
      .transaction(() => {
        const { unpaid } = this.db
          .prepare("SELECT COUNT(*) AS unpaid FROM payout_items WHERE plan_id = ? AND status != 'paid'")
          .get(planId) as { unpaid: number };
        if (unpaid > 0)
          throw new PayoutStateError(`payout plan ${planId} still has ${unpaid} unpaid payments`);
        this.db
          .prepare(
            "UPDATE payout_plans SET status = 'complete', completed_at = ? WHERE id = ? AND status = 'open'",
          )
          .run(Date.now(), planId);
      })
      .immediate();
  }

  async history(): Promise<StoredPlan[]> {
    const rows = this.db
      .prepare("SELECT * FROM payout_plans ORDER BY created_at DESC, id DESC")
      .all() as PlanRow[];
    return rows.map((row) => this.toPlan(row));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** How many payments of the plan were attempted (sending or paid). */
  private attempted(planId: string): number {
    const { n } = this.db
      .prepare("SELECT COUNT(*) AS n FROM payout_items WHERE plan_id = ? AND status != 'pending'")
      .get(planId) as { n: number };
    return n;
  }

  private updateItem(sql: string, ...params: unknown[]): void {
    if (this.db.prepare(sql).run(...params).changes === 0) {
      throw new PayoutStateError(
        `the payment to ${String(params.at(-1))} changed under this run (is another \`dpow payouts run ${String(params.at(-2))}\` running?); let it finish, then run again`,
      );
    }
  }

  private toPlan(row: PlanRow): StoredPlan {
    const items = this.db
      .prepare("SELECT * FROM payout_items WHERE plan_id = ? ORDER BY rowid")
      .all(row.id) as ItemRow[];
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

function toItem(row: ItemRow): StoredItem {
  return {
    worker: row.worker,
    amount: BigInt(row.amount),
    precache: row.precache,
    ondemand: row.ondemand,
    weight: BigInt(row.weight),
    snapshotPrecache: row.snapshot_precache,
    snapshotOndemand: row.snapshot_ondemand,
    status: row.status,
    blockHash: row.block_hash,
    blockJson: row.block_json,
    paidAt: row.paid_at,
  };
}
