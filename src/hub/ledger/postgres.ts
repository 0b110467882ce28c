import type pg from "pg";
import { formatU64 } from "../../nano/hex.js";
import {
  type CachedWork,
  type Ledger,
  LedgerError,
  type ServiceRecord,
  type ServiceSettings,
  type Statistics,
  type Win,
  type WorkCounters,
} from "../ports.js";
import { inTransaction, isConnectionLost, openPostgresPool } from "./postgres-open.js";
import { bestWork, buildStatistics } from "./shared.js";

/** BIGINT columns arrive as strings (they may exceed 2^53); counters never come near it. */
interface ServiceRow {
  name: string;
  key_hash: string;
  public: boolean;
  display: string;
  website: string;
  rate: number;
  burst: number;
  precache: string;
  ondemand: string;
  created_at: string;
}

interface CounterRow {
  precache: string;
  ondemand: string;
}

function toRecord(row: ServiceRow): ServiceRecord {
  return {
    name: row.name,
    keyHash: row.key_hash,
    public: row.public,
    display: row.display,
    website: row.website,
    rate: row.rate,
    burst: row.burst,
    precache: Number(row.precache),
    ondemand: Number(row.ondemand),
    createdAt: Number(row.created_at),
  };
}

const toCounters = (row: CounterRow | undefined): WorkCounters =>
  row ? { precache: Number(row.precache), ondemand: Number(row.ondemand) } : { precache: 0, ondemand: 0 };

const SETTING_COLUMNS: Record<keyof ServiceSettings, string> = {
  public: "public",
  display: "display",
  website: "website",
  rate: "rate",
  burst: "burst",
};

const UNIQUE_VIOLATION = "23505";

/**
 * How long a win is retried while PostgreSQL cannot be reached. A win is already claimed in the
 * coordinator when it is recorded, and another replica may have handed the same work to its own
 * service: giving up would leave work answered and never credited. Recording is idempotent (one
 * row per job), so a retry after a commit whose reply was lost cannot credit twice. One minute
 * covers a database restart or failover; pending retries hold a closure each, no connection.
 */
const WIN_RETRY_MS = 60_000;
const WIN_RETRY_FIRST_DELAY_MS = 100;
const WIN_RETRY_MAX_DELAY_MS = 2000;

/**
 * The ledger in PostgreSQL, shared by hub replicas and the operator CLI. Same tables and rules as
 * the SQLite ledger: a win is unique per job, and the worker's counter moves in the same
 * transaction. Commits are durable when they resolve (Postgres's default synchronous_commit).
 */
export class PostgresLedger implements Ledger {
  private constructor(private readonly pool: pg.Pool) {}

  /**
   * Connects to `url` (postgres://user[:password]@host[:port]/database; add
   * `?options=-c%20search_path%3DNAME` to use a schema other than public) and migrates the schema.
   */
  static async connect(url: string): Promise<PostgresLedger> {
    return new PostgresLedger(await openPostgresPool(url, 10));
  }

  async addService(name: string, keyHash: string, settings: ServiceSettings): Promise<ServiceRecord> {
    try {
      const { rows } = await this.pool.query<ServiceRow>(
        `INSERT INTO services (name, key_hash, public, display, website, rate, burst, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          name,
          keyHash,
          settings.public,
          settings.display,
          settings.website,
          settings.rate,
          settings.burst,
          Date.now(),
        ],
      );
      return toRecord(rows[0] as ServiceRow);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new LedgerError(`a service named "${name}" already exists`);
      }
      throw err;
    }
  }

  async service(name: string): Promise<ServiceRecord | undefined> {
    const { rows } = await this.pool.query<ServiceRow>("SELECT * FROM services WHERE name = $1", [name]);
    return rows[0] && toRecord(rows[0]);
  }

  async services(): Promise<ServiceRecord[]> {
    const { rows } = await this.pool.query<ServiceRow>("SELECT * FROM services ORDER BY name");
    return rows.map(toRecord);
  }

  async updateService(name: string, changes: Partial<ServiceSettings>): Promise<ServiceRecord> {
    const keys = (Object.keys(changes) as Array<keyof ServiceSettings>).filter(
      (k) => changes[k] !== undefined,
    );
    if (keys.length > 0) {
      const sets = keys.map((k, i) => `${SETTING_COLUMNS[k]} = $${i + 2}`).join(", ");
      await this.pool.query(`UPDATE services SET ${sets} WHERE name = $1`, [
        name,
        ...keys.map((k) => changes[k]),
      ]);
    }
    const record = await this.service(name);
    if (!record) throw new LedgerError(`no service named "${name}"`);
    return record;
  }

  async deleteService(name: string): Promise<boolean> {
    return ((await this.pool.query("DELETE FROM services WHERE name = $1", [name])).rowCount ?? 0) > 0;
  }

  async setServiceKey(name: string, keyHash: string): Promise<boolean> {
    const result = await this.pool.query("UPDATE services SET key_hash = $2 WHERE name = $1", [
      name,
      keyHash,
    ]);
    return (result.rowCount ?? 0) > 0;
  }

  async addServiceCounts(counts: ReadonlyMap<string, WorkCounters>): Promise<void> {
    if (counts.size === 0) return;
    const entries = [...counts];
    // One statement: every count of the batch lands, or none does.
    await this.pool.query(
      `UPDATE services s SET precache = s.precache + c.precache, ondemand = s.ondemand + c.ondemand
       FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c (name, precache, ondemand)
       WHERE s.name = c.name`,
      [entries.map(([name]) => name), entries.map(([, c]) => c.precache), entries.map(([, c]) => c.ondemand)],
    );
  }

  async recordWin(win: Win): Promise<{ recorded: boolean; counters: WorkCounters }> {
    const deadline = Date.now() + WIN_RETRY_MS;
    for (let delay = WIN_RETRY_FIRST_DELAY_MS; ; delay = Math.min(2 * delay, WIN_RETRY_MAX_DELAY_MS)) {
      try {
        return await this.recordWinOnce(win);
      } catch (err) {
        if (!isConnectionLost(err) || Date.now() + delay > deadline || this.pool.ended) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private async recordWinOnce(win: Win): Promise<{ recorded: boolean; counters: WorkCounters }> {
    const counters = await inTransaction(this.pool, async (client) => {
      // The unique job_id makes a second record of the same job a no-op, not a second credit.
      const inserted = await client.query(
        `INSERT INTO wins (job_id, hash, type, worker, service, difficulty, work, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (job_id) DO NOTHING`,
        [
          win.jobId,
          win.hash,
          win.type,
          win.worker,
          win.service,
          formatU64(win.difficulty),
          formatU64(win.work),
          win.at,
        ],
      );
      if (inserted.rowCount === 0) return undefined;
      const column = win.type === "ondemand" ? "ondemand" : "precache";
      const { rows } = await client.query<CounterRow>(
        `INSERT INTO workers (address, ${column}) VALUES ($1, 1)
         ON CONFLICT (address) DO UPDATE SET ${column} = workers.${column} + 1
         RETURNING precache, ondemand`,
        [win.worker],
      );
      return toCounters(rows[0]);
    });
    if (counters) return { recorded: true, counters };
    return { recorded: false, counters: await this.workerCounters(win.worker) };
  }

  async workerCounters(worker: string): Promise<WorkCounters> {
    const { rows } = await this.pool.query<CounterRow>(
      "SELECT precache, ondemand FROM workers WHERE address = $1",
      [worker],
    );
    return toCounters(rows[0]);
  }

  async solvedWork(hash: string): Promise<CachedWork | undefined> {
    const { rows } = await this.pool.query<{ work: string }>(
      "SELECT work FROM wins WHERE hash = $1 AND type = 'ondemand'",
      [hash],
    );
    return bestWork(
      hash,
      rows.map((r) => r.work),
    );
  }

  async statistics(): Promise<Statistics> {
    const { rows } = await this.pool.query<CounterRow>(
      "SELECT COALESCE(SUM(precache), 0) AS precache, COALESCE(SUM(ondemand), 0) AS ondemand FROM workers",
    );
    return buildStatistics(await this.services(), toCounters(rows[0]));
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
