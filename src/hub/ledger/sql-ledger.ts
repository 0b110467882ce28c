import { formatU64 } from "../../nano/hex.js";
import { type SqlDatabase, type SqlExecutor, sqlBoolean } from "../../sql/database.js";
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
import { bestWork, buildStatistics } from "./shared.js";

interface ServiceRow {
  name: string;
  key_hash: string;
  public: boolean | number;
  display: string;
  website: string;
  rate: number;
  burst: number;
  precache: number;
  ondemand: number;
  created_at: number;
}

function toRecord(row: ServiceRow): ServiceRecord {
  return {
    name: row.name,
    keyHash: row.key_hash,
    public: sqlBoolean(row.public),
    display: row.display,
    website: row.website,
    rate: row.rate,
    burst: row.burst,
    precache: row.precache,
    ondemand: row.ondemand,
    createdAt: row.created_at,
  };
}

const SETTING_COLUMNS: Record<keyof ServiceSettings, string> = {
  public: "public",
  display: "display",
  website: "website",
  rate: "rate",
  burst: "burst",
};

export interface WinRecord {
  recorded: boolean;
  counters: WorkCounters;
}

/**
 * How long a win is retried while the database cannot be reached (PostgreSQL; a SQLite file never
 * is). A win is already claimed in the coordinator when it is recorded, and another replica may
 * have handed the same work to its own service: giving up would leave work answered and never
 * credited. Recording is idempotent (one row per job), so a retry after a commit whose reply was
 * lost cannot credit twice. One minute covers a database restart or failover; pending retries hold
 * a closure each, no connection.
 */
const WIN_RETRY_MS = 60_000;
const WIN_RETRY_FIRST_DELAY_MS = 100;
const WIN_RETRY_MAX_DELAY_MS = 2000;

/**
 * The ledger over either engine (sqlite.ts and postgres.ts open it): a win is unique per job, and
 * the worker's counter moves in the same transaction. Every write is durable when it resolves.
 */
export class SqlLedger implements Ledger {
  constructor(protected readonly db: SqlDatabase) {}

  async addService(name: string, keyHash: string, settings: ServiceSettings): Promise<ServiceRecord> {
    const row = await this.db.get<ServiceRow>(
      `INSERT INTO services (name, key_hash, public, display, website, rate, burst, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING *`,
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
    if (!row) throw new LedgerError(`a service named "${name}" already exists`);
    return toRecord(row);
  }

  async service(name: string): Promise<ServiceRecord | undefined> {
    const row = await this.db.get<ServiceRow>("SELECT * FROM services WHERE name = $1", [name]);
    return row && toRecord(row);
  }

  async services(): Promise<ServiceRecord[]> {
    return (await this.db.all<ServiceRow>("SELECT * FROM services ORDER BY name")).map(toRecord);
  }

  async updateService(name: string, changes: Partial<ServiceSettings>): Promise<ServiceRecord> {
    const keys = (Object.keys(changes) as Array<keyof ServiceSettings>).filter(
      (k) => changes[k] !== undefined,
    );
    if (keys.length > 0) {
      const sets = keys.map((k, i) => `${SETTING_COLUMNS[k]} = $${i + 2}`).join(", ");
      await this.db.run(`UPDATE services SET ${sets} WHERE name = $1`, [
        name,
        ...keys.map((k) => changes[k] as ServiceSettings[typeof k]),
      ]);
    }
    const record = await this.service(name);
    if (!record) throw new LedgerError(`no service named "${name}"`);
    return record;
  }

  async deleteService(name: string): Promise<boolean> {
    return (await this.db.run("DELETE FROM services WHERE name = $1", [name])) > 0;
  }

  async setServiceKey(name: string, keyHash: string): Promise<boolean> {
    return (await this.db.run("UPDATE services SET key_hash = $2 WHERE name = $1", [name, keyHash])) > 0;
  }

  async addServiceCounts(counts: ReadonlyMap<string, WorkCounters>): Promise<void> {
    if (counts.size === 0) return;
    // One transaction: every count of the batch lands, or none does.
    await this.db.transaction(async (tx) => {
      for (const [name, c] of counts) {
        await tx.run(
          "UPDATE services SET precache = precache + $1, ondemand = ondemand + $2 WHERE name = $3",
          [c.precache, c.ondemand, name],
        );
      }
    });
  }

  recordWin(win: Win): Promise<WinRecord> {
    return this.recordWins([win]).then((records) => records[0] as WinRecord);
  }

  /** Records `wins` in one transaction (one commit), retried while the database is out of reach. */
  protected async recordWins(wins: readonly Win[]): Promise<WinRecord[]> {
    const deadline = Date.now() + WIN_RETRY_MS;
    for (let delay = WIN_RETRY_FIRST_DELAY_MS; ; delay = Math.min(2 * delay, WIN_RETRY_MAX_DELAY_MS)) {
      try {
        return await this.db.transaction(async (tx) => {
          const records: WinRecord[] = [];
          for (const win of wins) records.push(await insertWin(tx, win));
          return records;
        });
      } catch (err) {
        if (!this.db.isConnectionLost(err) || Date.now() + delay > deadline || this.db.closed) throw err;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  workerCounters(worker: string): Promise<WorkCounters> {
    return countersOf(this.db, worker);
  }

  async solvedWork(hash: string): Promise<CachedWork | undefined> {
    const rows = await this.db.all<{ work: string }>(
      "SELECT work FROM wins WHERE hash = $1 AND type = 'ondemand'",
      [hash],
    );
    return bestWork(
      hash,
      rows.map((r) => r.work),
    );
  }

  async statistics(): Promise<Statistics> {
    const work = await this.db.get<WorkCounters>(
      `SELECT CAST(COALESCE(SUM(precache), 0) AS BIGINT) AS precache,
              CAST(COALESCE(SUM(ondemand), 0) AS BIGINT) AS ondemand FROM workers`,
    );
    return buildStatistics(await this.services(), work as WorkCounters);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Credits a worker with one win of a type, answering its counters after it. */
const CREDIT_SQL: Record<Win["type"], string> = {
  ondemand: creditSql("ondemand"),
  precache: creditSql("precache"),
};

function creditSql(column: Win["type"]): string {
  return `INSERT INTO workers (address, ${column}) VALUES ($1, 1)
     ON CONFLICT (address) DO UPDATE SET ${column} = workers.${column} + 1
     RETURNING precache, ondemand`;
}

/** Records one win inside the caller's transaction, with the worker's counters after it. */
async function insertWin(tx: SqlExecutor, win: Win): Promise<WinRecord> {
  // The unique job_id makes a second record of the same job a no-op, not a second credit.
  const inserted = await tx.run(
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
  if (inserted === 0) return { recorded: false, counters: await countersOf(tx, win.worker) };
  const counters = await tx.get<WorkCounters>(CREDIT_SQL[win.type], [win.worker]);
  return { recorded: true, counters: counters as WorkCounters };
}

async function countersOf(on: SqlExecutor, worker: string): Promise<WorkCounters> {
  const row = await on.get<WorkCounters>("SELECT precache, ondemand FROM workers WHERE address = $1", [
    worker,
  ]);
  return row ?? { precache: 0, ondemand: 0 };
}
