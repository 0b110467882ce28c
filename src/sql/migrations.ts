import { type Dialect, SPELLINGS, type Spelling } from "./database.js";

/**
 * One module's tables and their history: numbered migrations, applied in order, each once, on
 * either engine. Each schema records what ran in its own table, so modules evolve apart. Append
 * new steps, never edit old ones: databases in the field have already run them.
 */
export interface Schema {
  /** The table that records which of `migrations` ran (version, applied_at). */
  readonly table: string;
  /**
   * Step N (from 1) as SQL for an engine. A step 1 that adopts tables created before this schema
   * had a record (an older release made them) is written with IF NOT EXISTS throughout.
   */
  readonly migrations: readonly ((spelling: Spelling) => string)[];
}

/** The statements on a schema's record table: make it, read its version, add a step. */
export function recordSql(schema: Schema) {
  return {
    create: `CREATE TABLE IF NOT EXISTS ${schema.table} (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`,
    current: `SELECT MAX(version) AS version FROM ${schema.table}`,
    insert: `INSERT INTO ${schema.table} (version, applied_at) VALUES ($1, $2)`,
  };
}

/**
 * The steps a database at `current` still needs, as SQL for `dialect`; a database newer than this
 * release knows is refused rather than guessed at.
 */
export function pendingSteps(
  schema: Schema,
  current: number,
  dialect: Dialect,
): Array<{ version: number; sql: string }> {
  const known = schema.migrations.length;
  if (current > known) {
    throw new Error(
      `the database was written by a newer version of dpow (${schema.table} ${current}, this one knows ${known}); upgrade dpow`,
    );
  }
  return schema.migrations
    .slice(current)
    .map((step, i) => ({ version: current + i + 1, sql: step(SPELLINGS[dialect]) }));
}
