import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { addService } from "../../src/hub/service-admin.js";
import { tempDir } from "../helpers/hub-process.js";
import { win } from "./contract/ledger-contract.js";

const open: SqliteLedger[] = [];
const ledgerAt = (file: string) => {
  const ledger = new SqliteLedger(file);
  open.push(ledger);
  return ledger;
};
let temp: ReturnType<typeof tempDir>;
beforeEach(() => {
  temp = tempDir();
});
afterEach(async () => {
  for (const ledger of open.splice(0)) await ledger.close();
  temp.remove();
});

/**
 * What only the SQLite ledger does; the rest of the Ledger port is checked in contract/, upgrades
 * from the previous release in test/sql/upgrade.test.ts.
 */
describe("SqliteLedger", () => {
  it("shares one file between processes' connections (the CLI next to a running server)", async () => {
    const file = join(temp.dir, "shared.db");
    const server = ledgerAt(file);
    const cli = ledgerAt(file);
    await addService(cli, "added-by-cli", {});
    expect((await server.service("added-by-cli"))?.name).toBe("added-by-cli");
    await server.recordWin(win("x", "w"));
    expect(await cli.workerCounters("w")).toEqual({ precache: 0, ondemand: 1 });
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(raw.prepare("SELECT version FROM dpow_migrations").all()).toEqual([{ version: 1 }]);
    raw.close();
  });

  it("refuses a database written by a newer schema", () => {
    const file = join(temp.dir, "future.db");
    new SqliteLedger(file).close();
    const raw = new Database(file);
    raw.exec("INSERT INTO dpow_migrations (version, applied_at) VALUES (99, 0)");
    raw.close();
    expect(() => new SqliteLedger(file)).toThrow(/newer version of dpow/);
  });
});
