import type { Schema } from "../../sql/migrations.js";

/**
 * The ledger's tables, on SQLite and PostgreSQL alike. `dpow_migrations` is the record PostgreSQL
 * ledgers kept before the payouts and precache tables had migrations of their own.
 */
export const LEDGER_SCHEMA: Schema = {
  table: "dpow_migrations",
  migrations: [
    // IF NOT EXISTS: SQLite files made before the record table already hold these tables, some
    // (from before the wins_hash index) without that index.
    (t) => `
      CREATE TABLE IF NOT EXISTS services (
        name       TEXT PRIMARY KEY,
        key_hash   TEXT NOT NULL,
        public     ${t.boolean} NOT NULL DEFAULT FALSE,
        display    TEXT NOT NULL DEFAULT '',
        website    TEXT NOT NULL DEFAULT '',
        rate       ${t.double} NOT NULL,
        burst      INTEGER NOT NULL,
        precache   ${t.bigint} NOT NULL DEFAULT 0,
        ondemand   ${t.bigint} NOT NULL DEFAULT 0,
        created_at ${t.bigint} NOT NULL
      );
      CREATE TABLE IF NOT EXISTS wins (
        id         ${t.serialKey},
        job_id     TEXT NOT NULL UNIQUE,
        hash       TEXT NOT NULL,
        type       TEXT NOT NULL CHECK (type IN ('ondemand', 'precache')),
        worker     TEXT NOT NULL,
        service    TEXT,
        difficulty TEXT NOT NULL,
        work       TEXT NOT NULL,
        at         ${t.bigint} NOT NULL
      );
      CREATE INDEX IF NOT EXISTS wins_worker ON wins (worker);
      -- solvedWork: the work a win holds for a hash, looked up on every request the cache misses.
      CREATE INDEX IF NOT EXISTS wins_hash ON wins (hash);
      CREATE TABLE IF NOT EXISTS workers (
        address  TEXT PRIMARY KEY,
        precache ${t.bigint} NOT NULL DEFAULT 0,
        ondemand ${t.bigint} NOT NULL DEFAULT 0
      );`,
  ],
};
