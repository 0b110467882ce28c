import type { SqliteSync, WalCheckpointing } from "../../sql/sqlite.js";
import type { Ledger } from "../ports.js";
import { PostgresLedger } from "./postgres.js";
import { SqliteLedger } from "./sqlite.js";

/** Where the ledger lives: Postgres when a URL is given (hub replicas share it), else the SQLite file. */
export interface LedgerLocation {
  db: string;
  /** SQLite only: whether every commit is fsynced (see SqliteLedger). */
  sync?: SqliteSync;
  /** SQLite only: "thread" for the hub's own connections (see WalCheckpoints); default "inline". */
  checkpoints?: WalCheckpointing;
  postgresUrl?: string;
}

export function openLedger(where: LedgerLocation): Promise<Ledger> {
  if (where.postgresUrl !== undefined) return PostgresLedger.connect(where.postgresUrl);
  return Promise.resolve(new SqliteLedger(where.db, where.sync, where.checkpoints));
}
