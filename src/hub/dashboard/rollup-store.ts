import { LATENCY_BUCKETS_S } from "../metrics.js";
import type { RollupCounts, RollupPoint, RollupStore } from "../ports.js";
import type { SqlEngine } from "./sql-engine.js";

/**
 * The dashboard's rollups in the ledger's database, one SQL text for SQLite and PostgreSQL. The
 * table is created idempotently here rather than in the ledger's numbered migrations: the
 * dashboard's history is not money, and the two evolve independently (as the payouts tables do).
 */

const TABLE = "dashboard_rollups";
const SPAN_S = { "10s": 10, "1m": 60 } as const;
/** One column per latency bucket, and one for answers slower than the last bound. */
const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS_S.length + 1 }, (_, i) => `l${i}`);
const COUNT_COLUMNS = ["cache", "ondemand", "timeout", "error", ...LATENCY_COLUMNS];

const SCHEMA = `CREATE TABLE IF NOT EXISTS ${TABLE} (
  span_s  INTEGER NOT NULL,
  start_s BIGINT NOT NULL,
  replica TEXT NOT NULL,
  ${COUNT_COLUMNS.map((c) => `${c} BIGINT NOT NULL DEFAULT 0`).join(",\n  ")},
  PRIMARY KEY (span_s, start_s, replica)
)`;

const ROW = `(?, ?, ?, ${COUNT_COLUMNS.map(() => "?").join(", ")})`;
/** Both rows (slot and minute) in one statement: atomic on both engines without a transaction. */
const ADD = `INSERT INTO ${TABLE} (span_s, start_s, replica, ${COUNT_COLUMNS.join(", ")})
  VALUES ${ROW}, ${ROW}
  ON CONFLICT (span_s, start_s, replica) DO UPDATE SET
  ${COUNT_COLUMNS.map((c) => `${c} = ${TABLE}.${c} + excluded.${c}`).join(", ")}`;

/**
 * Grouped in a subquery: PostgreSQL would not see `(start_s / $1) * $2` in GROUP BY as the same
 * expression. The step is cast because better-sqlite3 binds a JS number as REAL, and a REAL
 * divisor would make the division exact instead of integer.
 */
const READ = `SELECT t, ${COUNT_COLUMNS.map((c) => `SUM(${c}) AS ${c}`).join(", ")}
  FROM (SELECT (start_s / CAST(? AS INTEGER)) * CAST(? AS INTEGER) AS t, ${COUNT_COLUMNS.join(", ")} FROM ${TABLE}
        WHERE span_s = ? AND start_s >= ? AND start_s < ?) steps
  GROUP BY t ORDER BY t`;

const PRUNE = `DELETE FROM ${TABLE} WHERE span_s = ? AND start_s < ?`;

/** PostgreSQL: a replica that lost the race to create the table (duplicate type or relation). */
const ALREADY_CREATED = new Set(["23505", "42P07"]);

type Row = Record<string, number | string>;

export class SqlRollupStore implements RollupStore {
  private constructor(private readonly sql: SqlEngine) {}

  static async open(sql: SqlEngine): Promise<SqlRollupStore> {
    await sql.run(SCHEMA).catch((err: { code?: string }) => {
      if (!ALREADY_CREATED.has(err.code ?? "")) throw err;
    });
    return new SqlRollupStore(sql);
  }

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
    const rows = await this.sql.all<Row>(READ, [stepS, stepS, SPAN_S[span], fromS, toS]);
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
