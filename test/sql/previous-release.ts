/**
 * The schemas exactly as the release before numbered migrations for every module created them
 * (copied from it, never to be edited): the SQLite ledger's two steps counted in `user_version`,
 * the PostgreSQL ledger's one step in `dpow_migrations`, and the payouts and precache tables made
 * idempotently, unrecorded. The upgrade tests open databases made this way with today's stores.
 */
import Database from "better-sqlite3";
import pg from "pg";

const SQLITE_LEDGER = [
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
  "CREATE INDEX wins_hash ON wins (hash);",
];

const SQLITE_PAYOUTS = `
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

const SQLITE_PRECACHE = `CREATE TABLE IF NOT EXISTS precache_frontiers (
    account    TEXT PRIMARY KEY,
    frontier   TEXT NOT NULL,
    work       TEXT,
    value      TEXT,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS precache_frontiers_frontier ON precache_frontiers (frontier);`;

const POSTGRES_LEDGER = `CREATE TABLE services (
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
   );`;

const POSTGRES_PAYOUTS = `
  CREATE TABLE IF NOT EXISTS payout_plans (
    id             TEXT PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    budget         TEXT NOT NULL,
    through_win_id BIGINT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'complete', 'superseded')),
    completed_at   BIGINT,
    payer          TEXT,
    skipped        TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS payout_items (
    seq               BIGSERIAL,
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
    paid_at           BIGINT,
    PRIMARY KEY (plan_id, worker)
  );
  CREATE INDEX IF NOT EXISTS payout_items_worker ON payout_items (worker);
`;

/**
 * What the previous release held after some use: a public service, two wins of `worker` (the
 * first paid by a completed plan) and a tracked precache frontier. Written with plain SQL that
 * both engines take.
 */
export const SEED = [
  `INSERT INTO services (name, key_hash, public, display, website, rate, burst, precache, ondemand, created_at)
   VALUES ('svc', 'hash', TRUE, 'Svc', 'https://svc.example', 2.5, 7, 3, 4, 1000)`,
  `INSERT INTO wins (job_id, hash, type, worker, service, difficulty, work, at) VALUES
   ('job-1', '${"AB".repeat(32)}', 'ondemand', 'nano_worker', 'svc', 'fffffff800000000', '0000000000001234', 1),
   ('job-2', '${"CD".repeat(32)}', 'precache', 'nano_worker', NULL, 'fffffff800000000', '0000000000005678', 2)`,
  "INSERT INTO workers (address, precache, ondemand) VALUES ('nano_worker', 1, 1)",
  `INSERT INTO payout_plans (id, created_at, budget, through_win_id, status, completed_at, payer, skipped)
   VALUES ('plan-1', 10, '100', 1, 'complete', 20, 'key S', '[]')`,
  `INSERT INTO payout_items (plan_id, worker, amount, precache, ondemand, weight, snapshot_precache,
     snapshot_ondemand, status, block_hash, block_json, paid_at)
   VALUES ('plan-1', 'nano_worker', '100', 0, 1, '1', 0, 1, 'paid', '${"EF".repeat(32)}', NULL, 20)`,
];

/** A SQLite file as the previous release left it; `ledgerSteps` 1 is a file from before wins_hash. */
export function previousSqlite(file: string, ledgerSteps: 1 | 2 = 2): void {
  const db = new Database(file);
  try {
    for (const step of SQLITE_LEDGER.slice(0, ledgerSteps)) db.exec(step);
    db.pragma(`user_version = ${ledgerSteps}`);
    db.exec(SQLITE_PAYOUTS);
    db.exec(SQLITE_PRECACHE);
    db.exec("BEGIN");
    for (const sql of SEED) db.exec(sql);
    db.exec(
      `INSERT INTO precache_frontiers (account, frontier, work, value, updated_at)
       VALUES ('nano_account', '${"01".repeat(32)}', NULL, NULL, ${Date.now()})`,
    );
    db.exec("COMMIT");
  } finally {
    db.close();
  }
}

/** A PostgreSQL schema (reached through `url`'s search_path) as the previous release left it. */
export async function previousPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(
      "CREATE TABLE dpow_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    );
    await client.query(POSTGRES_LEDGER);
    await client.query("INSERT INTO dpow_migrations (version, applied_at) VALUES (1, 0)");
    await client.query(POSTGRES_PAYOUTS);
    for (const sql of SEED) await client.query(sql);
    await client.query("COMMIT");
  } finally {
    await client.end();
  }
}
