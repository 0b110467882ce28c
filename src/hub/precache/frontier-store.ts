import type Database from "better-sqlite3";
import { formatU64, parseU64 } from "../../nano/hex.js";
import type { Schema } from "../../sql/migrations.js";
import { migrateSqlite, openSqlite } from "../../sql/sqlite.js";

export interface StoredFrontier {
  account: string;
  frontier: string;
  /** The work held for the frontier, if it was solved before the hub stopped. */
  work: bigint | null;
  updatedAt: number;
}

export interface FrontierStoreOptions {
  /** Rows kept at most (oldest updates go first) and how long a row lives without an update. */
  limit: number;
  ttlMs: number;
  now?: () => number;
}

/** Precache's table, in the hub's file beside the ledger's; its own record, as it is precache's alone. */
const PRECACHE_SCHEMA: Schema = {
  table: "precache_migrations",
  migrations: [
    // IF NOT EXISTS: releases before this record created the table idempotently, unrecorded.
    () => `
      CREATE TABLE IF NOT EXISTS precache_frontiers (
        account    TEXT PRIMARY KEY,
        frontier   TEXT NOT NULL,
        work       TEXT,
        value      TEXT,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS precache_frontiers_frontier ON precache_frontiers (frontier);`,
  ],
};

/** Rows written between two trims of the table to `limit`. */
const TRIM_EVERY = 1000;

/**
 * Tracked accounts, their frontiers and the precached work for them, in the hub's SQLite file, so
 * that a restarted hub still knows whom to precache for and keeps the work it already paid for.
 * The table belongs to precache alone (the ledger's migrations do not know it), and holds nothing
 * that is money: losing it only costs some precache hits.
 */
export class FrontierStore {
  private readonly db: Database.Database;
  private readonly now: () => number;
  private writes = 0;

  constructor(
    file: string,
    private readonly options: FrontierStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    // Precache state is no money and is re-validated on load: no fsync per frontier move.
    this.db = openSqlite(file, "normal");
    migrateSqlite(this.db, [PRECACHE_SCHEMA]);
  }

  /** The account's frontier moved: the work held for the old one is no longer any use. */
  setFrontier(account: string, frontier: string, held?: { work: bigint; value: bigint }): void {
    this.db
      .prepare(
        `INSERT INTO precache_frontiers (account, frontier, work, value, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account) DO UPDATE SET frontier = excluded.frontier, work = excluded.work,
           value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(
        account,
        frontier,
        held ? formatU64(held.work) : null,
        held ? formatU64(held.value) : null,
        this.now(),
      );
    if (++this.writes % TRIM_EVERY === 0) this.trim();
  }

  /** Records work for whichever tracked account has `frontier` as its frontier, if it beats what is held. */
  saveWork(frontier: string, work: bigint, value: bigint): void {
    // 16 lower-case hex digits compare as text exactly as the numbers do.
    this.db
      .prepare(
        "UPDATE precache_frontiers SET work = ?, value = ? WHERE frontier = ? AND (value IS NULL OR value < ?)",
      )
      .run(formatU64(work), formatU64(value), frontier, formatU64(value));
  }

  /** The rows still alive, newest first, after dropping expired ones and trimming to the limit. */
  load(): StoredFrontier[] {
    this.trim();
    const rows = this.db
      .prepare("SELECT account, frontier, work, updated_at FROM precache_frontiers ORDER BY updated_at DESC")
      .all() as Array<{ account: string; frontier: string; work: string | null; updated_at: number }>;
    return rows.map((row) => ({
      account: row.account,
      frontier: row.frontier,
      work: row.work === null ? null : parseU64(row.work, "stored work"),
      updatedAt: row.updated_at,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private trim(): void {
    this.db
      .prepare("DELETE FROM precache_frontiers WHERE updated_at <= ?")
      .run(this.now() - this.options.ttlMs);
    this.db
      .prepare(
        `DELETE FROM precache_frontiers WHERE account IN (
           SELECT account FROM precache_frontiers ORDER BY updated_at DESC LIMIT -1 OFFSET ?)`,
      )
      .run(this.options.limit);
  }
}
