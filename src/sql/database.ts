/**
 * The small SQL adapter every store is written over, so that each store exists once for SQLite
 * and PostgreSQL: statements use PostgreSQL's `$1, $2, …` placeholders on both engines, BIGINT
 * columns come back as numbers on both, booleans may be bound on both, and a transaction is one
 * call. The few spellings that differ between the engines live in `Spelling`.
 */

export type Dialect = "sqlite" | "postgres";

/** What a statement may bind: money and other 64-bit amounts are stored as text. */
export type SqlValue = string | number | boolean | null;

export interface SqlExecutor {
  readonly dialect: Dialect;
  /** The rows of a statement. */
  all<R>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** The first row of a statement, or undefined when it has none. */
  get<R>(sql: string, params?: readonly SqlValue[]): Promise<R | undefined>;
  /** Runs a statement; how many rows it inserted, changed or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface TransactionOptions {
  /**
   * Only reads: SQLite takes no write lock (its snapshot starts at the first read). Without it a
   * SQLite transaction takes the write lock at BEGIN, so two never deadlock upgrading to it.
   */
  readOnly?: boolean;
  /**
   * Serializes the transactions that read and then write on the same key: PostgreSQL holds this
   * advisory lock (any 64-bit number) until the end; SQLite's write lock already does it.
   */
  lock?: number;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `task` in one transaction: committed when it resolves, rolled back when it throws. Inside
   * it, statements go through `tx` only (on SQLite, other statements wait until it ends).
   */
  transaction<T>(task: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Whether `err` says the server was out of reach (a statement that is safe to repeat may be). */
  isConnectionLost(err: unknown): boolean;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** How each engine spells the few things a schema or a statement cannot write alike. */
export interface Spelling {
  /** An auto-numbered primary key. */
  serialKey: string;
  boolean: string;
  /** A 64-bit integer (counters, ids, milliseconds). */
  bigint: string;
  double: string;
  /**
   * A column a table declares (first) so that `insertionOrder` orders its rows as they were
   * inserted; SQLite's rowid already does, and needs none.
   */
  insertionOrderColumn: string;
  insertionOrder: string;
}

export const SPELLINGS: Readonly<Record<Dialect, Spelling>> = {
  sqlite: {
    serialKey: "INTEGER PRIMARY KEY",
    boolean: "INTEGER",
    bigint: "INTEGER",
    double: "REAL",
    insertionOrderColumn: "",
    insertionOrder: "rowid",
  },
  postgres: {
    serialKey: "BIGSERIAL PRIMARY KEY",
    boolean: "BOOLEAN",
    bigint: "BIGINT",
    double: "DOUBLE PRECISION",
    insertionOrderColumn: "seq BIGSERIAL,",
    insertionOrder: "seq",
  },
};

/** A boolean column as read: SQLite has no boolean type and stores 0 or 1. */
export const sqlBoolean = (value: boolean | number): boolean => value === true || value === 1;
