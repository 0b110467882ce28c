import { describe, expect, it } from "vitest";
import { SqliteDatabase } from "../../src/sql/sqlite.js";

/** What the SQLite adapter adds to better-sqlite3, so that stores run unchanged on both engines. */
describe("SqliteDatabase", () => {
  const open = () => {
    const db = SqliteDatabase.open(":memory:", "normal", []);
    db.db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)");
    return db;
  };

  it("takes PostgreSQL's numbered placeholders in any order, each as often as written, and booleans", async () => {
    const db = open();
    expect(await db.all("SELECT $2 AS b, $1 AS a, $2 || $1 AS ba, $3 AS yes", ["a", "b", true])).toEqual([
      { b: "b", a: "a", ba: "ba", yes: 1 },
    ]);
    expect(await db.run("INSERT INTO t (k, v) VALUES ($1, $2), ($3, $2)", ["x", 1, "y"])).toBe(2);
    await db.close();
  });

  it("holds a statement issued while a transaction awaits until it ends, so a rollback cannot take it along", async () => {
    const db = open();
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => {
      inside = resolve;
    });
    let leave!: () => void;
    const left = new Promise<void>((resolve) => {
      leave = resolve;
    });
    const failed = db
      .transaction(async (tx) => {
        await tx.run("INSERT INTO t (k, v) VALUES ('rolled back', 1)");
        inside();
        await left;
        throw new Error("task failed");
      })
      .catch((err: Error) => err.message);
    await entered;
    const outside = db.run("INSERT INTO t (k, v) VALUES ('kept', 2)");
    leave();
    expect(await failed).toBe("task failed");
    expect(await outside).toBe(1);
    expect(await db.all("SELECT k FROM t")).toEqual([{ k: "kept" }]);
    await db.close();
  });

  it("runs transactions one after another, each committed whole", async () => {
    const db = open();
    await Promise.all(
      ["a", "b", "c"].map((k) =>
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO t (k, v) VALUES ($1, 0)", [k]);
          await tx.run("UPDATE t SET v = (SELECT COUNT(*) FROM t) WHERE k = $1", [k]);
        }),
      ),
    );
    expect(await db.all("SELECT k, v FROM t ORDER BY k")).toEqual([
      { k: "a", v: 1 },
      { k: "b", v: 2 },
      { k: "c", v: 3 },
    ]);
    await db.close();
  });
});
