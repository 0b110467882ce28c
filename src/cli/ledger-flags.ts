import { type Command, Option } from "commander";
import { SQLITE_LEDGER_DEFAULTS } from "../hub/ledger/sqlite.js";

/**
 * Where an operator command finds the hub's ledger: the SQLite file, or the PostgreSQL database
 * that `dpow server --postgres` replicas share (never both).
 */
export function ledgerOptions(command: Command): Command {
  return command
    .option("--db <file>", "SQLite ledger file (the one the server uses)", SQLITE_LEDGER_DEFAULTS.file)
    .addOption(
      new Option(
        "--postgres <url>",
        "PostgreSQL ledger (the one `dpow server --postgres` replicas use), in place of --db",
      )
        .env("DPOW_POSTGRES_URL")
        .conflicts("db"),
    );
}
