/**
 * The thread of wal-checkpoints.ts: its own connection to the file, checkpointing the WAL every
 * `everyMs`. PASSIVE copies what no reader still needs and never waits for anyone, but SQLite
 * starts the WAL over only after a checkpoint that caught up with every commit; under commits
 * without pause none does, and the WAL would grow without end. Past `maxWalPages` the thread
 * therefore checkpoints with TRUNCATE, which waits for the writer (a stall of the hub's loop, as
 * an inline checkpoint would be) and empties the WAL: rare, and bounded.
 */

import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, everyMs, maxWalPages } = workerData as { file: string; everyMs: number; maxWalPages: number };
const db = new Database(file);
db.pragma("busy_timeout = 1000");

function checkpoint(): void {
  try {
    const [result] = db.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number }>;
    if ((result?.log ?? 0) > maxWalPages) db.pragma("wal_checkpoint(TRUNCATE)");
  } catch {
    // Busy or briefly locked: the next round catches up.
  }
}

const timer = setInterval(checkpoint, everyMs);
parentPort?.once("message", () => {
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
