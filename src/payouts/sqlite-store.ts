import { LEDGER_SCHEMA } from "../hub/ledger/schema.js";
import { SqliteDatabase } from "../sql/sqlite.js";
import { PAYOUT_SCHEMA } from "./schema.js";
import { SqlPayoutStore } from "./sql-store.js";

/** The payout store in the hub's SQLite file. */
export class SqlitePayoutStore extends SqlPayoutStore {
  /** Opens (or creates) the hub's database file; the hub's schema is applied first so wins exist. */
  constructor(file: string) {
    // Payments are rare and a payment recorded then lost could be paid twice: always fsync.
    super(SqliteDatabase.open(file, "full", [LEDGER_SCHEMA, PAYOUT_SCHEMA]));
  }
}
