import pg from "pg";
import { redactUrl } from "../../protocol/redact-url.js";
import { StoreUnreachableError } from "../ports.js";
import { checkOut } from "./postgres-client.js";
import { migrate } from "./postgres-schema.js";

/**
 * Errors of a PostgreSQL the operator can fix: not running or not reachable (socket errors), and
 * refused logins (SQLSTATE class 28: unknown role, no pg_hba.conf entry, wrong password), an
 * unknown database (3D000), a role without the rights to create the hub's tables (42501).
 */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "28000",
  "28P01",
  "3D000",
  "42501",
]);

/**
 * A pool on the hub's PostgreSQL database with the hub's schema migrated, then `prepare` run (for
 * the tables of whoever opens it). A server the operator can fix becomes a one-line error naming
 * --postgres, with the password hidden.
 */
export async function openPostgresPool(
  url: string,
  max: number,
  prepare: (pool: pg.Pool) => Promise<unknown> = async () => {},
): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle connection dropped by the server is discarded by the pool; the next query opens another.
  pool.on("error", () => {});
  try {
    await migrate(pool);
    await prepare(pool);
    return pool;
  } catch (err) {
    await pool.end();
    if (UNREACHABLE.has((err as { code?: string }).code ?? "")) {
      throw new StoreUnreachableError(
        `cannot use PostgreSQL at ${redactUrl(url)} (${(err as Error).message}); start it or fix --postgres`,
      );
    }
    throw err;
  }
}

/** Runs `task` in one transaction on one connection of `pool`: committed if it resolves, else rolled back. */
export async function inTransaction<T>(
  pool: pg.Pool,
  task: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const { client, release } = await checkOut(pool);
  try {
    await client.query("BEGIN");
    const result = await task(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    release();
  }
}

/**
 * Errors that say the connection to the server was lost or could not be made (it stopped, restarts
 * or is out of reach), not that the statement was wrong: socket errors, SQLSTATE class 08
 * (connection exception) and 57P01-57P03 (server shutting down or starting). A statement that is
 * safe to repeat may be retried after them.
 */
const CONNECTION_LOST = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "57P01",
  "57P02",
  "57P03",
]);

export function isConnectionLost(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return CONNECTION_LOST.has(code) || code.startsWith("08");
  // pg's own errors for a socket that closed, a connection that never came or a statement on a
  // connection that failed before it (checkOut keeps that failure) carry no code.
  return /Connection terminated|timeout exceeded when trying to connect|encountered a connection error/.test(
    (err as Error)?.message ?? "",
  );
}

/**
 * How long a new connection may take. pg waits forever by default: a server that accepts TCP but
 * does not answer (stopped with SIGSTOP, a dead host behind a live proxy) would hang every request.
 */
const CONNECT_TIMEOUT_MS = 5000;
