import type Database from "better-sqlite3";
import { openSqlite } from "../hub/ledger/sqlite-open.js";
import { migrate } from "../hub/ledger/sqlite-schema.js";
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

const UNPAID_WINS = unpaidWinsSql("?", (condition) => `SUM(${condition})`);

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
        return unpaidFromGroups(max, this.db.prepare(UNPAID_WINS).all(max) as WinGroupRow[]);
      })
      .deferred();
  }

  async workerCounters(worker: string, throughWinId = Number.MAX_SAFE_INTEGER) {
    const rows = this.db
      .prepare("SELECT type, COUNT(*) AS n FROM wins WHERE worker IN (?, ?) AND id <= ? GROUP BY type")
      .all(...workerSpellings(worker), throughWinId) as Array<{ type: "precache" | "ondemand"; n: number }>;
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
          if (this.attempted(open.id) > 0) throw partlyPaid(open.id);
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
        if (!row) throw noPlan(planId);
        if (row.payer !== null && row.payer !== payer && this.attempted(planId) > 0) {
          throw paidByAnother(planId, row.payer);
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
        if (unpaid > 0) throw stillUnpaid(planId, unpaid);
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
      throw changedUnderRun(String(params.at(-2)), String(params.at(-1)));
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
