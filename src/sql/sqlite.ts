import Database from "better-sqlite3";
import { StoreUnreachableError } from "../hub/ports.js";
import type { SqlDatabase, SqlExecutor, SqlValue, TransactionOptions } from "./database.js";
import { pendingSteps, recordSql, type Schema } from "./migrations.js";
import { WalCheckpoints } from "./wal-checkpoints.js";

/**
 * How far a commit goes before it counts as done. Both survive a crash of the process at any point
 * (in WAL mode a commit is in the WAL file, in the OS's hands, before it returns). `full` also
 * fsyncs every commit, so it survives a power loss or kernel crash too, for about 0.3-0.5 ms per
 * commit on a typical disk.
 */
export type SqliteSync = "full" | "normal";

/**
 * Opens the hub's SQLite file the one way every user of it (hub, operator CLI, payouts, precache
 * store) must: WAL, so the CLI can read and write while the server runs; a busy timeout, so they
 * wait for each other instead of failing. `file` ":memory:" gives a private in-memory database.
 */
/** Where a connection's WAL checkpoints run (SqliteDatabase.open). */
export type WalCheckpointing = "inline" | "thread";

export function openSqlite(file: string, sync: SqliteSync): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(file);
    db.pragma("journal_mode = WAL"); // the first read: fails here when the file is not a database
    db.pragma(`synchronous = ${sync === "full" ? "FULL" : "NORMAL"}`);
    db.pragma("busy_timeout = 5000");
    return db;
  } catch (err) {
    db?.close();
    throw new StoreUnreachableError(
      `cannot open the SQLite file ${file} (${(err as Error).message}); fix --db or create its directory`,
    );
  }
}

/** Brings `schemas` up to date in one write transaction (synchronous: SQLite stores open in a constructor). */
export function migrateSqlite(db: Database.Database, schemas: readonly Schema[]): void {
  db.transaction(() => {
    for (const schema of schemas) {
      const record = recordSql(schema);
      db.exec(record.create);
      const { version } = db.prepare(record.current).get() as { version: number | null };
      const insert = db.prepare(toSqlite(record.insert).sql);
      for (const step of pendingSteps(schema, version ?? 0, "sqlite")) {
        db.exec(step.sql);
        insert.run(step.version, Date.now());
      }
    }
  }).immediate();
}

/**
 * A statement rewritten for SQLite: `$n` placeholders become `?`, and `order` says which parameter
 * each `?` takes (undefined when they come in order, the common case, so binding copies nothing).
 */
interface Rewritten {
  sql: string;
  order: number[] | undefined;
}

function toSqlite(sql: string): Rewritten {
  const order: number[] = [];
  const rewritten = sql.replace(/\$(\d+)/g, (_, n: string) => {
    order.push(Number(n) - 1);
    return "?";
  });
  return { sql: rewritten, order: order.every((p, i) => p === i) ? undefined : order };
}

const isBoolean = (value: SqlValue | undefined) => typeof value === "boolean";

/** SQLite binds no booleans. Parameters in order and without one, the hot paths' case, are not copied. */
function bind(params: readonly SqlValue[], order: number[] | undefined): readonly unknown[] {
  if (order === undefined && !params.some(isBoolean)) return params;
  const ordered = order ? order.map((i) => params[i]) : params;
  return ordered.map((v) => (isBoolean(v) ? (v ? 1 : 0) : v));
}

interface Prepared {
  statement: Database.Statement;
  order: number[] | undefined;
}

/**
 * The SQL adapter over one better-sqlite3 connection. Statements run synchronously, so a
 * transaction would take in any statement another caller issues while its task awaits: those wait
 * on `tail` until it ends, and transactions take turns the same way.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite";
  /** Compiled once per distinct text: the stores' statements are a fixed set written in code. */
  private readonly statements = new Map<string, Prepared>();
  /** Transactions running or waiting for their turn. */
  private transactions = 0;
  private tail: Promise<void> = Promise.resolve();
  private readonly inside: SqlExecutor = {
    dialect: "sqlite",
    all: (sql, params) => Promise.resolve(this.allNow(sql, params)),
    get: (sql, params) => Promise.resolve(this.getNow(sql, params)),
    run: (sql, params) => Promise.resolve(this.runNow(sql, params)),
  };

  /** `db` is the connection itself: migrations and tests reach it directly. */
  constructor(
    readonly db: Database.Database,
    private readonly checkpoints?: WalCheckpoints,
  ) {}

  /**
   * Opens `file` (see openSqlite) with `schemas` migrated. `checkpoints` "thread" moves the WAL's
   * checkpoints to a thread (wal-checkpoints.ts): for a long-running process that commits on its
   * event loop (the hub); "inline" leaves them to SQLite, on the committing thread.
   */
  static open(
    file: string,
    sync: SqliteSync,
    schemas: readonly Schema[],
    checkpoints: WalCheckpointing = "inline",
  ): SqliteDatabase {
    const db = openSqlite(file, sync);
    try {
      migrateSqlite(db, schemas);
    } catch (err) {
      db.close();
      throw err;
    }
    const inMemory = file === ":memory:";
    return new SqliteDatabase(
      db,
      checkpoints === "thread" && !inMemory ? WalCheckpoints.start(db, file) : undefined,
    );
  }

  get closed(): boolean {
    return !this.db.open;
  }

  all<R>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.outside(() => this.allNow<R>(sql, params));
  }

  get<R>(sql: string, params: readonly SqlValue[] = []): Promise<R | undefined> {
    return this.outside(() => this.getNow<R>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.outside(() => this.runNow(sql, params));
  }

  async transaction<T>(task: (tx: SqlExecutor) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.transactions++;
    const previous = this.tail;
    let done!: () => void;
    this.tail = new Promise((resolve) => {
      done = resolve;
    });
    try {
      await previous;
      this.runNow(options.readOnly ? "BEGIN DEFERRED" : "BEGIN IMMEDIATE");
      try {
        const result = await task(this.inside);
        this.runNow("COMMIT");
        return result;
      } catch (err) {
        if (this.db.inTransaction) this.runNow("ROLLBACK");
        throw err;
      }
    } finally {
      this.transactions--;
      done();
    }
  }

  isConnectionLost(): boolean {
    return false;
  }

  async close(): Promise<void> {
    await this.tail;
    // The thread's connection goes first: the last one to close checkpoints what is left.
    await this.checkpoints?.stop();
    if (this.db.open) this.db.close();
  }

  /** Runs `work` now unless a transaction holds the connection, then right after it (and those queued). */
  private outside<T>(work: () => T): Promise<T> {
    if (this.transactions > 0) return this.tail.then(work);
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private allNow<R>(sql: string, params: readonly SqlValue[] = []): R[] {
    const { statement, order } = this.prepared(sql);
    return statement.all(...bind(params, order)) as R[];
  }

  private getNow<R>(sql: string, params: readonly SqlValue[] = []): R | undefined {
    const { statement, order } = this.prepared(sql);
    return statement.get(...bind(params, order)) as R | undefined;
  }

  private runNow(sql: string, params: readonly SqlValue[] = []): number {
    const { statement, order } = this.prepared(sql);
    return statement.run(...bind(params, order)).changes;
  }

  private prepared(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      const rewritten = toSqlite(sql);
      prepared = { statement: this.db.prepare(rewritten.sql), order: rewritten.order };
      this.statements.set(sql, prepared);
    }
    return prepared;
  }
}
