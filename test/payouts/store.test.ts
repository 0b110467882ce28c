import { join } from "node:path";
import { PostgresLedger } from "../../src/hub/ledger/postgres.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { PostgresPayoutStore } from "../../src/payouts/postgres-store.js";
import { SqlitePayoutStore } from "../../src/payouts/sqlite-store.js";
import { tempDir } from "../helpers/hub-process.js";
import { serviceAvailable } from "../helpers/services.js";
import { postgresSchema } from "../hub/contract/stores.js";
import { payoutStoreContract } from "./store-contract.js";

payoutStoreContract("SQLite", async () => {
  const temp = tempDir();
  const file = join(temp.dir, "dpow.db");
  const ledger = new SqliteLedger(file);
  const store = new SqlitePayoutStore(file);
  return {
    ledger,
    store,
    async dispose() {
      await store.close();
      await ledger.close();
      temp.remove();
    },
  };
});

if (await serviceAvailable("postgres")) {
  payoutStoreContract("Postgres", async () => {
    const schema = await postgresSchema();
    const ledger = await PostgresLedger.connect(schema.url);
    const store = await PostgresPayoutStore.connect(schema.url);
    return {
      ledger,
      store,
      async dispose() {
        await store.close();
        await ledger.close();
        await schema.drop();
      },
    };
  });
}
