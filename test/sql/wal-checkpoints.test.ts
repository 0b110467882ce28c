/**
 * WAL checkpoints in a thread (src/sql/wal-checkpoints.ts): the hub's connection never checkpoints
 * on its own thread, the WAL is still recycled, nothing is lost on close, and a thread that cannot
 * run hands the checkpoints back to the connection.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSqlite, SqliteDatabase } from "../../src/sql/sqlite.js";
import { WalCheckpoints } from "../../src/sql/wal-checkpoints.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "dpow-wal-"));
  dirs.push(dir);
  return join(dir, "hub.db");
}

const SCHEMA = {
  table: "walt_migrations",
  migrations: [() => "CREATE TABLE rows (id INTEGER PRIMARY KEY, blob TEXT NOT NULL)"],
};
const PAGE = "x".repeat(4000);

describe("WAL checkpoints in a thread", () => {
  it("the connection stops checkpointing, close leaves no WAL behind and keeps every row", async () => {
    const file = tempFile();
    const db = SqliteDatabase.open(file, "normal", [SCHEMA], "thread");
    expect(db.db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    for (let i = 0; i < 2000; i++) await db.run("INSERT INTO rows (blob) VALUES (?)", [PAGE]);
    await db.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const again = new Database(file, { readonly: true });
    expect(again.prepare("SELECT count(*) AS n FROM rows").get()).toEqual({ n: 2000 });
    again.close();
  });

  it("keeps the WAL bounded under commits without a pause", async () => {
    const file = tempFile();
    const db = openSqlite(file, "normal");
    db.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, blob TEXT NOT NULL)");
    const checkpoints = WalCheckpoints.start(db, file, { everyMs: 10, maxWalPages: 256 });
    const insert = db.prepare("INSERT INTO rows (blob) VALUES (?)");
    // Write until the WAL has taken four times its own size: only a checkpoint (the thread's,
    // the connection does none) lets SQLite start it over instead of growing it.
    let written = 0;
    let rows = 0;
    while (written < 4e6 || written < 4 * statSync(`${file}-wal`).size) {
      insert.run(PAGE);
      written += PAGE.length;
      if (++rows % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    await checkpoints.stop();
    db.close();
  }, 120_000);

  it("leaves checkpoints to SQLite by default and for an in-memory database", async () => {
    const inline = SqliteDatabase.open(tempFile(), "normal", [SCHEMA]);
    expect(inline.db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    await inline.close();
    const memory = SqliteDatabase.open(":memory:", "normal", [SCHEMA], "thread");
    expect(memory.db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    await memory.close();
  });

  it("hands checkpoints back to the connection when the thread cannot open the file", async () => {
    const db = openSqlite(tempFile(), "normal");
    const checkpoints = WalCheckpoints.start(db, join(tempFile(), "not-a-folder", "x.db"));
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    await checkpoints.stopped();
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    db.close();
  });
});
