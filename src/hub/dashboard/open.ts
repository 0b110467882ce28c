import type { LedgerLocation } from "../ledger/open.js";
import { openPostgresPool } from "../ledger/postgres-open.js";
import { openSqlite } from "../ledger/sqlite-open.js";
import type { RollupStore } from "../ports.js";
import { SqlRollupStore } from "./rollup-store.js";
import { postgresEngine, sqliteEngine } from "./sql-engine.js";

/** The rollups beside the ledger: a connection of their own to the same SQLite file or PostgreSQL. */
export async function openRollupStore(where: LedgerLocation): Promise<RollupStore> {
  if (where.postgresUrl !== undefined) {
    return SqlRollupStore.open(postgresEngine(await openPostgresPool(where.postgresUrl, 2)));
  }
  // History is not money: losing the last few seconds of counts to a power cut is fine, an fsync per write is not.
  return SqlRollupStore.open(sqliteEngine(openSqlite(where.db, "normal")));
}
