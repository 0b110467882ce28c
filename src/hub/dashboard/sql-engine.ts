import type Database from "better-sqlite3";
import type pg from "pg";

/**
 * The little the rollup store needs of a SQL database, so that it is written once for SQLite and
 * PostgreSQL: statements with `?` placeholders (renumbered to `$1, $2, ...` for PostgreSQL), rows
 * back as plain objects. SUM() of BIGINT arrives from PostgreSQL as a string: callers Number() it.
 */
export interface SqlEngine {
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs a statement; resolves with the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  close(): Promise<void>;
}

export function sqliteEngine(db: Database.Database): SqlEngine {
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string) => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  return {
    all: async <T>(sql: string, params: readonly unknown[] = []) => prepared(sql).all(...params) as T[],
    run: async (sql, params = []) => prepared(sql).run(...params).changes,
    close: async () => {
      db.close();
    },
  };
}

/** `?` -> `$n`; the rollup SQL has no `?` inside string literals. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function postgresEngine(pool: pg.Pool): SqlEngine {
  const texts = new Map<string, string>();
  const text = (sql: string) => {
    let converted = texts.get(sql);
    if (converted === undefined) {
      converted = numbered(sql);
      texts.set(sql, converted);
    }
    return converted;
  };
  return {
    all: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await pool.query(text(sql), [...params])).rows as T[],
    run: async (sql, params = []) => (await pool.query(text(sql), [...params])).rowCount ?? 0,
    close: () => pool.end(),
  };
}
