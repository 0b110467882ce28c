import type Database from "better-sqlite3";
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
import { bestWork, buildStatistics } from "./shared.js";
import { openSqlite, type SqliteSync } from "./sqlite-open.js";
import { migrate } from "./sqlite-schema.js";

interface ServiceRow {
  name: string;
  key_hash: string;
  public: number;
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
    public: row.public === 1,
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

/**
 * The ledger in one SQLite file. WAL mode lets the operator CLI read and write the same file while
 * the server runs; the busy timeout makes the two wait for each other instead of failing.
 */
export class SqliteLedger implements Ledger {
  private readonly db: Database.Database;
  private readonly pendingWins: Array<{
    win: Win;
    resolve(result: { recorded: boolean; counters: WorkCounters }): void;
    reject(err: unknown): void;
  }> = [];

  /**
   * `file` ":memory:" gives a private in-memory database (tests). `sync` "normal" (the default)
   * keeps every acknowledged win through any crash of the hub process; "full" also through a power
   * loss, at the cost of an fsync on the path of every on-demand answer.
   */
  constructor(file: string, sync: SqliteSync = "normal") {
    this.db = openSqlite(file, sync);
    migrate(this.db);
  }

  /** Statements on the hot paths (every win, every cache miss), compiled once instead of per call. */
  private readonly statements = new Map<string, Database.Statement>();

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async addService(name: string, keyHash: string, settings: ServiceSettings): Promise<ServiceRecord> {
    try {
      this.db
        .prepare(
          `INSERT INTO services (name, key_hash, public, display, website, rate, burst, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          name,
          keyHash,
          settings.public ? 1 : 0,
          settings.display,
          settings.website,
          settings.rate,
          settings.burst,
          Date.now(),
        );
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
        throw new LedgerError(`a service named "${name}" already exists`);
      }
      throw err;
    }
    return (await this.service(name)) as ServiceRecord;
  }

  async service(name: string): Promise<ServiceRecord | undefined> {
    const row = this.prepared("SELECT * FROM services WHERE name = ?").get(name) as ServiceRow | undefined;
    return row && toRecord(row);
  }

  async services(): Promise<ServiceRecord[]> {
    const rows = this.db.prepare("SELECT * FROM services ORDER BY name").all() as ServiceRow[];
    return rows.map(toRecord);
  }

  async updateService(name: string, changes: Partial<ServiceSettings>): Promise<ServiceRecord> {
    const keys = (Object.keys(changes) as Array<keyof ServiceSettings>).filter(
      (k) => changes[k] !== undefined,
    );
    if (keys.length > 0) {
      const sets = keys.map((k) => `${SETTING_COLUMNS[k]} = ?`).join(", ");
      const values = keys.map((k) => {
        const v = changes[k];
        return typeof v === "boolean" ? (v ? 1 : 0) : v;
      });
      this.db.prepare(`UPDATE services SET ${sets} WHERE name = ?`).run(...values, name);
    }
    const record = await this.service(name);
    if (!record) throw new LedgerError(`no service named "${name}"`);
    return record;
  }

  async deleteService(name: string): Promise<boolean> {
    return this.db.prepare("DELETE FROM services WHERE name = ?").run(name).changes > 0;
  }

  async setServiceKey(name: string, keyHash: string): Promise<boolean> {
    return this.db.prepare("UPDATE services SET key_hash = ? WHERE name = ?").run(keyHash, name).changes > 0;
  }

  async addServiceCounts(counts: ReadonlyMap<string, WorkCounters>): Promise<void> {
    const update = this.db.prepare(
      "UPDATE services SET precache = precache + ?, ondemand = ondemand + ? WHERE name = ?",
    );
    this.db.transaction(() => {
      for (const [name, c] of counts) update.run(c.precache, c.ondemand, name);
    })();
  }

  /**
   * Group commit: the wins recorded in one turn of the event loop share one transaction, so one
   * fsync. Each commit blocks the hub for its fsync (synchronous = FULL); one per win, with results
   * piling up while the disk is slow, would block it once per result. Each promise still resolves
   * only once its win is durable.
   */
  recordWin(win: Win): Promise<{ recorded: boolean; counters: WorkCounters }> {
    return new Promise((resolve, reject) => {
      if (this.pendingWins.length === 0) setImmediate(() => this.commitWins());
      this.pendingWins.push({ win, resolve, reject });
    });
  }

  private commitWins(): void {
    const batch = this.pendingWins.splice(0);
    if (batch.length === 0) return;
    let recorded: boolean[];
    try {
      recorded = this.db.transaction(() => batch.map(({ win }) => this.insertWin(win))).immediate();
    } catch (err) {
      for (const { reject } of batch) reject(err);
      return;
    }
    for (const [i, { win, resolve }] of batch.entries()) {
      resolve({ recorded: recorded[i] === true, counters: this.countersOf(win.worker) });
    }
  }

  /** Records one win inside the caller's transaction; false when its job was recorded already. */
  private insertWin(win: Win): boolean {
    // The unique job_id makes a second record of the same job a no-op, not a second credit.
    const inserted = this.prepared(
      `INSERT INTO wins (job_id, hash, type, worker, service, difficulty, work, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`,
    ).run(
      win.jobId,
      win.hash,
      win.type,
      win.worker,
      win.service,
      formatU64(win.difficulty),
      formatU64(win.work),
      win.at,
    );
    if (inserted.changes === 0) return false;
    const column = win.type === "ondemand" ? "ondemand" : "precache";
    this.prepared(
      `INSERT INTO workers (address, ${column}) VALUES (?, 1)
       ON CONFLICT (address) DO UPDATE SET ${column} = ${column} + 1`,
    ).run(win.worker);
    return true;
  }

  async workerCounters(worker: string): Promise<WorkCounters> {
    return this.countersOf(worker);
  }

  private countersOf(worker: string): WorkCounters {
    const row = this.prepared("SELECT precache, ondemand FROM workers WHERE address = ?").get(worker) as
      | WorkCounters
      | undefined;
    return row ?? { precache: 0, ondemand: 0 };
  }

  async solvedWork(hash: string): Promise<CachedWork | undefined> {
    const rows = this.prepared("SELECT work FROM wins WHERE hash = ? AND type = 'ondemand'").all(
      hash,
    ) as Array<{ work: string }>;
    return bestWork(
      hash,
      rows.map((r) => r.work),
    );
  }

  async statistics(): Promise<Statistics> {
    const work = this.db
      .prepare(
        "SELECT COALESCE(SUM(precache), 0) AS precache, COALESCE(SUM(ondemand), 0) AS ondemand FROM workers",
      )
      .get() as WorkCounters;
    return buildStatistics(await this.services(), work);
  }

  async close(): Promise<void> {
    if (this.db.open) this.commitWins();
    if (this.db.open) this.db.close();
  }
}
