import Database from "better-sqlite3";
import { StoreUnreachableError } from "../ports.js";

/**
 * Opens the hub's SQLite file the one way every user of it (hub, operator CLI, payouts, precache
 * store) must: WAL, so the CLI can read and write while the server runs; a busy timeout, so they
 * wait for each other instead of failing; and FULL sync, because credits and payments are money and
 * a commit acknowledged to anyone must survive a power loss, not only a process crash (about 0.3 ms
 * per commit). `file` ":memory:" gives a private in-memory database (tests).
 */
export function openSqlite(file: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma("journal_mode = WAL"); // the first read: fails here when the file is not a database
    db.pragma("synchronous = FULL");
    db.pragma("busy_timeout = 5000");
    return db;
  } catch (err) {
    db?.close();
    throw new StoreUnreachableError(
      `cannot open the SQLite file ${file} (${(err as Error).message}); fix --db or create its directory`,
    );
  }
}
