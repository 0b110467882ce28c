import type { PayoutPeriod } from "../hub/ports.js";
import type { SqlDatabase } from "../sql/database.js";
import { PostgresDatabase } from "../sql/postgres.js";
import { SqliteDatabase } from "../sql/sqlite.js";
import { PAYOUT_SCHEMA } from "./schema.js";
import { UNPAID_WINS_SQL, unpaidFromGroups, type WinGroupRow } from "./store-rows.js";

const LAST_PAYOUT = `SELECT p.completed_at AS at, i.amount AS amount FROM payout_items i JOIN payout_plans p ON p.id = i.plan_id
  WHERE p.id = (SELECT id FROM payout_plans WHERE status = 'complete' ORDER BY completed_at DESC, id DESC LIMIT 1)`;

/**
 * The current payout period as the dashboard shows it: the next plan's unpaid work (the same query
 * and weights as `dpow payouts plan`), and the last completed payout. Unlike the payout store's
 * unpaidWork it takes no lock: a figure on a page may miss a win being written, a plan may not.
 */
class SqlPayoutPeriod implements PayoutPeriod {
  private opened: Promise<SqlDatabase> | undefined;

  constructor(private readonly open: () => Promise<SqlDatabase>) {}

  /**
   * The connection, opened on first use and again after a failure: replicas starting at once race
   * to create the payout tables, and a share on a page is not worth a hub that fails to start.
   */
  private sql(): Promise<SqlDatabase> {
    this.opened ??= this.open().catch((err: unknown) => {
      this.opened = undefined;
      throw err;
    });
    return this.opened;
  }

  async workers() {
    const rows = await (await this.sql()).all<WinGroupRow>(UNPAID_WINS_SQL, [Number.MAX_SAFE_INTEGER]);
    return unpaidFromGroups(0, rows).workers.map((w) => ({
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
 * The period on the hub's ledger (the SQLite file, or PostgreSQL when a URL is given), on a
 * connection of its own; the payouts schema is migrated on it, as the payout store does.
 */
export function openPayoutPeriod(where: { db: string; postgresUrl?: string }): Promise<PayoutPeriod> {
  const { postgresUrl } = where;
  return Promise.resolve(
    new SqlPayoutPeriod(async () =>
      postgresUrl !== undefined
        ? PostgresDatabase.connect(postgresUrl, 1, [PAYOUT_SCHEMA])
        : SqliteDatabase.open(where.db, "normal", [PAYOUT_SCHEMA]),
    ),
  );
}
