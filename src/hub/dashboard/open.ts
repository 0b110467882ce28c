import { PostgresDatabase } from "../../sql/postgres.js";
import { SqliteDatabase } from "../../sql/sqlite.js";
import type { LedgerLocation } from "../ledger/open.js";
import type { RollupStore } from "../ports.js";
import { ROLLUP_SCHEMA, SqlRollupStore } from "./rollup-store.js";

/** The rollups beside the ledger: a connection of their own to the same SQLite file or PostgreSQL. */
export async function openRollupStore(where: LedgerLocation): Promise<RollupStore> {
  if (where.postgresUrl !== undefined) {
    return new SqlRollupStore(await PostgresDatabase.connect(where.postgresUrl, 2, [ROLLUP_SCHEMA]));
  }
  // History is not money: losing the last few seconds of counts to a power cut is fine, an fsync per write is not.
  return new SqlRollupStore(SqliteDatabase.open(where.db, "normal", [ROLLUP_SCHEMA], where.checkpoints));
}
