import { PostgresDatabase } from "../../sql/postgres.js";
import { LEDGER_SCHEMA } from "./schema.js";
import { SqlLedger } from "./sql-ledger.js";

/** Connections a hub replica keeps to PostgreSQL: a win and a cache miss take one each, briefly. */
const POOL_SIZE = 10;

/**
 * The ledger in PostgreSQL, shared by hub replicas and the operator CLI. Commits are durable when
 * they resolve (PostgreSQL's default synchronous_commit).
 */
export class PostgresLedger extends SqlLedger {
  /** Connects to `url` (see PostgresDatabase.connect) and migrates the ledger's tables. */
  static async connect(url: string): Promise<PostgresLedger> {
    return new PostgresLedger(await PostgresDatabase.connect(url, POOL_SIZE, [LEDGER_SCHEMA]));
  }
}
