import type { Database } from "better-sqlite3";

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran. Append new
 * steps, never edit old ones: databases in the field have already run them.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE services (
     name       TEXT PRIMARY KEY,
     key_hash   TEXT NOT NULL,
     public     INTEGER NOT NULL DEFAULT 0,
     display    TEXT NOT NULL DEFAULT '',
     website    TEXT NOT NULL DEFAULT '',
     rate       REAL NOT NULL,
     burst      INTEGER NOT NULL,
     precache   INTEGER NOT NULL DEFAULT 0,
     ondemand   INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL
   );
   CREATE TABLE wins (
     id         INTEGER PRIMARY KEY,
     job_id     TEXT NOT NULL UNIQUE,
     hash       TEXT NOT NULL,
     type       TEXT NOT NULL CHECK (type IN ('ondemand', 'precache')),
     worker     TEXT NOT NULL,
     service    TEXT,
     difficulty TEXT NOT NULL,
     work       TEXT NOT NULL,
     at         INTEGER NOT NULL
   );
   CREATE INDEX wins_worker ON wins (worker);
   CREATE TABLE workers (
     address  TEXT PRIMARY KEY,
     precache INTEGER NOT NULL DEFAULT 0,
     ondemand INTEGER NOT NULL DEFAULT 0
   );`,
  // solvedWork: the work a win holds for a hash, looked up on every request the cache misses.
  "CREATE INDEX wins_hash ON wins (hash);",
];

export function migrate(db: Database): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database was written by a newer version of dpow (schema ${current}, this one knows ${MIGRATIONS.length}); upgrade dpow`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
