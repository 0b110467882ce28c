import type { SqlDatabase } from "../../sql/database.js";
import type { Schema } from "../../sql/migrations.js";
import { LATENCY_BUCKETS_S } from "../metrics.js";
import type { RollupCounts, RollupPoint, RollupStore } from "../ports.js";

/**
 * The dashboard's rollups in the ledger's database, one SQL text for SQLite and PostgreSQL, with
 * numbered migrations of their own (a record table apart from the ledger's): the dashboard's
 * history is not money, and the two evolve independently, as the payouts tables do.
 */

const TABLE = "dashboard_rollups";
const SPAN_S = { "10s": 10, "1m": 60 } as const;
/** One column per latency bucket, and one for answers slower than the last bound. */
const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS_S.length + 1 }, (_, i) => `l${i}`);
const COUNT_COLUMNS = ["cache", "ondemand", "timeout", "error", ...LATENCY_COLUMNS];

export const ROLLUP_SCHEMA: Schema = {
  table: "dashboard_migrations",
  migrations: [
    (t) => `CREATE TABLE ${TABLE} (
      span_s  INTEGER NOT NULL,
      start_s ${t.bigint} NOT NULL,
      replica TEXT NOT NULL,
      ${COUNT_COLUMNS.map((c) => `${c} ${t.bigint} NOT NULL DEFAULT 0`).join(",\n      ")},
      PRIMARY KEY (span_s, start_s, replica)
    )`,
  ],
};

/** `($first, $first+1, ...)`: one row's placeholders. */
const row = (first: number) =>
  `(${Array.from({ length: 3 + COUNT_COLUMNS.length }, (_, i) => `$${first + i}`).join(", ")})`;
/** Both rows (slot and minute) in one statement: atomic on both engines without a transaction. */
const ADD = `INSERT INTO ${TABLE} (span_s, start_s, replica, ${COUNT_COLUMNS.join(", ")})
  VALUES ${row(1)}, ${row(4 + COUNT_COLUMNS.length)}
  ON CONFLICT (span_s, start_s, replica) DO UPDATE SET
  ${COUNT_COLUMNS.map((c) => `${c} = ${TABLE}.${c} + excluded.${c}`).join(", ")}`;

/**
 * Grouped in a subquery: PostgreSQL would not see `(start_s / $1) * $2` in GROUP BY as the same
 * expression. The step is cast because better-sqlite3 binds a JS number as REAL, and a REAL
 * divisor would make the division exact instead of integer.
 */
const READ = `SELECT t, ${COUNT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ")}
  FROM (SELECT (start_s / CAST($1 AS INTEGER)) * CAST($1 AS INTEGER) AS t, ${COUNT_COLUMNS.join(", ")} FROM ${TABLE}
        WHERE span_s = $2 AND start_s >= $3 AND start_s < $4) steps
  GROUP BY t ORDER BY t`;

const PRUNE = `DELETE FROM ${TABLE} WHERE span_s = $1 AND start_s < $2`;

type Row = Record<string, number | string>;

export class SqlRollupStore implements RollupStore {
  /** `sql` has ROLLUP_SCHEMA migrated (see open.ts); the store owns it and closes it. */
  constructor(private readonly sql: SqlDatabase) {}

  async add(replica: string, slotS: number, counts: RollupCounts): Promise<void> {
    const values = countValues(counts);
    const minuteS = slotS - (slotS % 60);
    await this.sql.run(ADD, [
      SPAN_S["10s"],
      slotS,
      replica,
      ...values,
      SPAN_S["1m"],
      minuteS,
      replica,
      ...values,
    ]);
  }

  async read(span: "10s" | "1m", fromS: number, toS: number, stepS: number): Promise<RollupPoint[]> {
    if (stepS % SPAN_S[span] !== 0) throw new RangeError(`step ${stepS} s is not a multiple of ${span}`);
    const rows = await this.sql.all<Row>(READ, [stepS, SPAN_S[span], fromS, toS]);
    return rows.map((row) => ({
      startS: Number(row.t),
      cache: Number(row.cache),
      ondemand: Number(row.ondemand),
      timeout: Number(row.timeout),
      error: Number(row.error),
      latency: LATENCY_COLUMNS.map((c) => Number(row[c])),
    }));
  }

  prune(span: "10s" | "1m", beforeS: number): Promise<number> {
    return this.sql.run(PRUNE, [SPAN_S[span], beforeS]);
  }

  close(): Promise<void> {
    return this.sql.close();
  }
}

function countValues(counts: RollupCounts): number[] {
  const latency = LATENCY_COLUMNS.map((_, i) => counts.latency[i] ?? 0);
  return [counts.cache, counts.ondemand, counts.timeout, counts.error, ...latency];
}
