import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PostgresLedger } from "../../../src/hub/ledger/postgres.js";
import { SqliteLedger } from "../../../src/hub/ledger/sqlite.js";
import type { Ledger } from "../../../src/hub/ports.js";
import { tempDir } from "../../helpers/hub-process.js";
import { freePort } from "../../helpers/ports.js";
import { serviceAvailable } from "../../helpers/services.js";
import { ledgerContract } from "./ledger-contract.js";
import { postgresSchema } from "./stores.js";

/** Connections opened on a store, closed (before the store goes) by dispose. */
function tracked(open: () => Promise<Ledger>, remove: () => Promise<void> | void) {
  const ledgers: Ledger[] = [];
  return {
    connect: async () => {
      const ledger = await open();
      ledgers.push(ledger);
      return ledger;
    },
    dispose: async () => {
      for (const ledger of ledgers) await ledger.close();
      await remove();
    },
  };
}

ledgerContract("SQLite", async () => {
  const temp = tempDir();
  const file = join(temp.dir, "ledger.db");
  return tracked(async () => new SqliteLedger(file), temp.remove);
});

const postgres = await serviceAvailable("postgres");

if (postgres) {
  ledgerContract("Postgres", async () => {
    const schema = await postgresSchema();
    return tracked(() => PostgresLedger.connect(schema.url), schema.drop);
  });
}

describe.runIf(postgres)("PostgresLedger", () => {
  it("migrates once, even when replicas start together, and refuses a newer schema", async () => {
    const schema = await postgresSchema();
    try {
      const ledgers = await Promise.all([0, 1, 2].map(() => PostgresLedger.connect(schema.url)));
      for (const ledger of ledgers) await ledger.close();
      const versions = await schema.query<{ version: number }>("SELECT version FROM dpow_migrations");
      expect(versions).toEqual([{ version: 1 }]);
      await schema.query("INSERT INTO dpow_migrations (version, applied_at) VALUES (99, 0)");
      await expect(PostgresLedger.connect(schema.url)).rejects.toThrow(/newer version of dpow/);
    } finally {
      await schema.drop();
    }
  });

  it("says which server it could not reach and which flag to fix", async () => {
    const port = await freePort();
    await expect(PostgresLedger.connect(`postgres://dpow:secret@127.0.0.1:${port}/dpow`)).rejects.toThrow(
      /cannot use PostgreSQL at postgres:\/\/dpow:\*\*\*@127\.0\.0\.1:\d+\/dpow .*fix --postgres/,
    );
  });
});
