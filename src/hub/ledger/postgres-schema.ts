import type pg from "pg";
import { checkOut } from "./postgres-client.js";

/**
 * Schema migrations for the Postgres ledger, applied in order; the `dpow_migrations` table records
 * which ran. Append new steps, never edit old ones: databases in the field have already run them.
 * The tables match the SQLite ledger's (sqlite-schema.ts), so both answer the same contract.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE services (
     name       TEXT PRIMARY KEY,
     key_hash   TEXT NOT NULL,
     public     BOOLEAN NOT NULL DEFAULT FALSE,
     display    TEXT NOT NULL DEFAULT '',
     website    TEXT NOT NULL DEFAULT '',
     rate       DOUBLE PRECISION NOT NULL,
     burst      INTEGER NOT NULL,
     precache   BIGINT NOT NULL DEFAULT 0,
     ondemand   BIGINT NOT NULL DEFAULT 0,
     created_at BIGINT NOT NULL
   );
   CREATE TABLE wins (
     id         BIGSERIAL PRIMARY KEY,
     job_id     TEXT NOT NULL UNIQUE,
     hash       TEXT NOT NULL,
     type       TEXT NOT NULL CHECK (type IN ('ondemand', 'precache')),
     worker     TEXT NOT NULL,
     service    TEXT,
     difficulty TEXT NOT NULL,
     work       TEXT NOT NULL,
     at         BIGINT NOT NULL
   );
   CREATE INDEX wins_worker ON wins (worker);
   CREATE INDEX wins_hash ON wins (hash);
   CREATE TABLE workers (
     address  TEXT PRIMARY KEY,
     precache BIGINT NOT NULL DEFAULT 0,
     ondemand BIGINT NOT NULL DEFAULT 0
   );`,
];

/** Any 64-bit number works: it only keeps replicas started together from migrating at once. */
const MIGRATION_LOCK = 0x64706f77;

/** Brings the schema (the first one on the connection's search_path) up to date, in one transaction. */
export async function migrate(pool: pg.Pool): Promise<void> {
  const { client, release } = await checkOut(pool);
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS dpow_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    const { rows } = await client.query<{ version: number | null }>(
      "SELECT MAX(version) AS version FROM dpow_migrations",
    );
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) {
      throw new Error(
        `the database was written by a newer version of dpow (schema ${current}, this one knows ${MIGRATIONS.length}); upgrade dpow`,
      );
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      await client.query(MIGRATIONS[version] as string);
      await client.query("INSERT INTO dpow_migrations (version, applied_at) VALUES ($1, $2)", [
        version + 1,
        Date.now(),
      ]);
    }
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    release();
  }
}
