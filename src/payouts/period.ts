import { postgresEngine, type SqlEngine, sqliteEngine } from "../hub/dashboard/sql-engine.js";
import { openPostgresPool } from "../hub/ledger/postgres-open.js";
import { openSqlite } from "../hub/ledger/sqlite-open.js";
import type { PayoutPeriod } from "../hub/ports.js";
import { PostgresPayoutStore } from "./postgres-store.js";
import { SqlitePayoutStore } from "./sqlite-store.js";
import { unpaidFromGroups, unpaidWinsSql, type WinGroupRow } from "./store-rows.js";

/**
 * The current payout period as the dashboard shows it: the next plan's unpaid work (the same query
 * and weights as `dpow payouts plan`), and the last completed payout. Unlike the payout store's
 * unpaidWork it takes no lock: a figure on a page may miss a win being written, a plan may not.
 */
const PERIOD = unpaidWinsSql(
  String(Number.MAX_SAFE_INTEGER),
  (condition) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`,
);

const LAST_PAYOUT = `SELECT p.completed_at AS at, i.amount AS amount FROM payout_items i JOIN payout_plans p ON p.id = i.plan_id
  WHERE p.id = (SELECT id FROM payout_plans WHERE status = 'complete' ORDER BY completed_at DESC, id DESC LIMIT 1)`;

class SqlPayoutPeriod implements PayoutPeriod {
  private opened: Promise<SqlEngine> | undefined;

  constructor(private readonly open: () => Promise<SqlEngine>) {}

  /**
   * The connection, opened on first use and again after a failure: replicas starting at once race
   * to create the payout tables, and a share on a page is not worth a hub that fails to start.
   */
  private sql(): Promise<SqlEngine> {
    this.opened ??= this.open().catch((err: unknown) => {
      this.opened = undefined;
      throw err;
    });
    return this.opened;
  }

  async workers() {
    const rows = await (await this.sql()).all<WinGroupRow>(PERIOD);
    const groups = rows.map((row) => ({ ...row, n: Number(row.n), unpaid: Number(row.unpaid) }));
    return unpaidFromGroups(0, groups).workers.map((w) => ({
      worker: w.worker,
      precache: w.precache,
      ondemand: w.ondemand,
      weight: w.weight,
    }));
  }

  async lastPayout() {
    const rows = await (await this.sql()).all<{ at: number | string; amount: string }>(LAST_PAYOUT);
    const first = rows[0];
    if (!first) return undefined;
    return {
      at: Number(first.at),
      workers: rows.length,
      amount: rows.reduce((sum, r) => sum + BigInt(r.amount), 0n),
    };
  }

  async close(): Promise<void> {
    await (await this.opened?.catch(() => undefined))?.close();
  }
}

/**
 * The period on the hub's ledger (the SQLite file, or PostgreSQL when a URL is given). The payout
 * store is opened once first: it creates the payouts tables where no payout ran yet.
 */
export function openPayoutPeriod(where: { db: string; postgresUrl?: string }): Promise<PayoutPeriod> {
  const { postgresUrl } = where;
  return Promise.resolve(
    new SqlPayoutPeriod(async () => {
      if (postgresUrl !== undefined) {
        await (await PostgresPayoutStore.connect(postgresUrl)).close();
        return postgresEngine(await openPostgresPool(postgresUrl, 1));
      }
      await new SqlitePayoutStore(where.db).close();
      return sqliteEngine(openSqlite(where.db, "normal"));
    }),
  );
}
