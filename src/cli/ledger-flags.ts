import { type Command, Option } from "commander";

/**
 * Where an operator command finds the hub's ledger: the SQLite file, or the PostgreSQL database
 * that `dpow server --postgres` replicas share (never both).
 */
export function ledgerOptions(command: Command): Command {
  return command
    .option("--db <file>", "SQLite ledger file (the one the server uses)", "./dpow.db")
    .addOption(
      new Option(
        "--postgres <url>",
        "PostgreSQL ledger (the one `dpow server --postgres` replicas use), in place of --db",
      )
        .env("DPOW_POSTGRES_URL")
        .conflicts("db"),
    );
}
