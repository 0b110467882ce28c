import pg from "pg";
import { StoreUnreachableError } from "../hub/ports.js";
import { redactUrl } from "../protocol/redact-url.js";
import type { SqlDatabase, SqlExecutor, SqlValue, TransactionOptions } from "./database.js";
import { pendingSteps, recordSql, type Schema } from "./migrations.js";

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
 * How long a new connection may take. pg waits forever by default: a server that accepts TCP but
 * does not answer (stopped with SIGSTOP, a dead host behind a live proxy) would hang every request.
 */
const CONNECT_TIMEOUT_MS = 5000;

/** Any 64-bit number works: it only keeps replicas started together from migrating at once. */
const MIGRATION_LOCK = 0x64706f77;

const INT8_OID = 20;

/**
 * BIGINT (and COUNT(*)) arrive as numbers, as they do from SQLite. Every BIGINT the stores keep
 * (counters, ids, milliseconds) stays far below 2^53; one that does not is an error, not a
 * rounded number. Amounts of money are TEXT.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new Error(`BIGINT ${text} does not fit a JavaScript number`);
  return value;
}

const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * A pool on the hub's PostgreSQL database with `schemas` migrated. A server the operator can fix
 * becomes a one-line error naming --postgres, with the password hidden.
 */
export async function openPostgresPool(
  url: string,
  max: number,
  schemas: readonly Schema[] = [],
): Promise<pg.Pool> {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types,
  });
  // An idle connection dropped by the server is discarded by the pool; the next query opens another.
  pool.on("error", () => {});
  try {
    await inTransaction(pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      for (const schema of schemas) await migrate(client, schema);
    });
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

/** Brings `schema` (in the first schema on the connection's search_path) up to date. */
async function migrate(client: pg.PoolClient, schema: Schema): Promise<void> {
  const record = recordSql(schema);
  await client.query(record.create);
  const { rows } = await client.query<{ version: number | null }>(record.current);
  for (const step of pendingSteps(schema, rows[0]?.version ?? 0, "postgres")) {
    await client.query(step.sql);
    await client.query(record.insert, [step.version, Date.now()]);
  }
}

/** A connection taken from the pool; release() hands it back, or discards it once it has failed. */
interface CheckedOut {
  client: pg.PoolClient;
  release(): void;
}

/**
 * Takes one connection from `pool` for several statements. pg emits `error` on a checked-out
 * connection that the server ends between two statements (a PostgreSQL stopping sends 57P01 to
 * every session), and pg-pool listens only while a connection is idle or inside pool.query: with
 * no listener that error would crash the process. It is kept here instead, the statement under
 * way (or the next) fails with it, and the broken connection is discarded on release.
 */
async function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const onError = (err: Error) => {
    failure = err;
  };
  client.on("error", onError);
  return {
    client,
    release() {
      client.removeListener("error", onError);
      client.release(failure);
    },
  };
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

/** What a pool or a transaction's connection answers alike. */
type Queryable = Pick<pg.Pool, "query">;

function executor(on: Queryable): SqlExecutor {
  return {
    dialect: "postgres",
    all: async <R>(sql: string, params?: readonly SqlValue[]) =>
      (await on.query(sql, params as unknown[])).rows as R[],
    get: async <R>(sql: string, params?: readonly SqlValue[]) =>
      (await on.query(sql, params as unknown[])).rows[0] as R | undefined,
    run: async (sql, params) => (await on.query(sql, params as unknown[])).rowCount ?? 0,
  };
}

/** The SQL adapter over a pool of PostgreSQL connections. */
export class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres";
  private readonly direct: SqlExecutor;

  private constructor(readonly pool: pg.Pool) {
    this.direct = executor(pool);
  }

  /**
   * Connects to `url` (postgres://user[:password]@host[:port]/database; add
   * `?options=-c%20search_path%3DNAME` to use a schema other than public) with `schemas` migrated.
   */
  static async connect(url: string, max: number, schemas: readonly Schema[]): Promise<PostgresDatabase> {
    return new PostgresDatabase(await openPostgresPool(url, max, schemas));
  }

  get closed(): boolean {
    return this.pool.ended;
  }

  all<R>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.direct.all<R>(sql, params);
  }

  get<R>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined> {
    return this.direct.get<R>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.direct.run(sql, params);
  }

  transaction<T>(task: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      if (options.lock !== undefined) await client.query("SELECT pg_advisory_xact_lock($1)", [options.lock]);
      return task(executor(client));
    });
  }

  isConnectionLost(err: unknown): boolean {
    return isConnectionLost(err);
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
