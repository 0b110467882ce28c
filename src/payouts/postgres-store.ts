import { LEDGER_SCHEMA } from "../hub/ledger/schema.js";
import { PostgresDatabase } from "../sql/postgres.js";
import { PAYOUT_SCHEMA } from "./schema.js";
import { SqlPayoutStore } from "./sql-store.js";

/** The operator CLI's payout commands run one statement at a time. */
const POOL_SIZE = 2;

/** The payout store in the hub's PostgreSQL ledger (scale-out mode). */
export class PostgresPayoutStore extends SqlPayoutStore {
  /** Connects to the ledger at `url` (as `dpow server --postgres` takes it), migrating it first. */
  static async connect(url: string): Promise<PostgresPayoutStore> {
    return new PostgresPayoutStore(
      await PostgresDatabase.connect(url, POOL_SIZE, [LEDGER_SCHEMA, PAYOUT_SCHEMA]),
    );
  }
}
