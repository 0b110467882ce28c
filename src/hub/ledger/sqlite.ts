import { SqliteDatabase, type SqliteSync, type WalCheckpointing } from "../../sql/sqlite.js";
import type { Win } from "../ports.js";
import { GroupCommit } from "./group-commit.js";
import { LEDGER_SCHEMA } from "./schema.js";
import { SqlLedger, type WinRecord } from "./sql-ledger.js";

/** Where the ledger lives and how far its commits go, where neither is given (`--db`, `--sync`). */
export const SQLITE_LEDGER_DEFAULTS = {
  file: "./dpow.db",
  sync: "normal",
} satisfies { file: string; sync: SqliteSync };

/**
 * The ledger in one SQLite file. WAL mode lets the operator CLI read and write the same file while
 * the server runs; the busy timeout makes the two wait for each other instead of failing.
 */
export class SqliteLedger extends SqlLedger {
  /**
   * Group commit: the wins recorded in one turn of the event loop share one transaction, so one
   * fsync. Each commit blocks the hub for its fsync (synchronous = FULL); one per win, with results
   * piling up while the disk is slow, would block it once per result. Each promise still resolves
   * only once its win is durable.
   */
  private readonly pendingWins = new GroupCommit<Win, WinRecord>((wins) => this.recordWins(wins));

  /**
   * `file` ":memory:" gives a private in-memory database (tests). `sync` "normal" (the default)
   * keeps every acknowledged win through any crash of the hub process; "full" also through a power
   * loss, at the cost of an fsync on the path of every on-demand answer.
   */
  constructor(
    file: string,
    sync: SqliteSync = SQLITE_LEDGER_DEFAULTS.sync,
    checkpoints: WalCheckpointing = "inline",
  ) {
    super(SqliteDatabase.open(file, sync, [LEDGER_SCHEMA], checkpoints));
  }

  override recordWin(win: Win): Promise<WinRecord> {
    return this.pendingWins.add(win);
  }

  override async close(): Promise<void> {
    await this.pendingWins.flush();
    await super.close();
  }
}
