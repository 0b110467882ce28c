import Database from "better-sqlite3";
import { StoreUnreachableError } from "../ports.js";

/**
 * How far a commit goes before it counts as done. Both survive a crash of the process at any point
 * (in WAL mode a commit is in the WAL file, in the OS's hands, before it returns). `full` also
 * fsyncs every commit, so it survives a power loss or kernel crash too, for about 0.3-0.5 ms per
 * commit on a typical disk.
 */
export type SqliteSync = "full" | "normal";

/**
 * Opens the hub's SQLite file the one way every user of it (hub, operator CLI, payouts, precache
 * store) must: WAL, so the CLI can read and write while the server runs; a busy timeout, so they
 * wait for each other instead of failing. `file` ":memory:" gives a private in-memory database.
 */
export function openSqlite(file: string, sync: SqliteSync): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma("journal_mode = WAL"); // the first read: fails here when the file is not a database
    db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("busy_timeout = 5000");
    return db;
  } catch (err) {
    db?.close();
    throw new StoreUnreachableError(
      `cannot open the SQLite file ${file} (${(err as Error).message}); fix --db or create its directory`,
    );
  }
}
