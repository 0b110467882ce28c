import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PostgresLedger } from "../../src/hub/ledger/postgres.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import type { Ledger } from "../../src/hub/ports.js";
import { FrontierStore } from "../../src/hub/precache/frontier-store.js";
import type { PayoutStore } from "../../src/payouts/ports.js";
import { PostgresPayoutStore } from "../../src/payouts/postgres-store.js";
import { SqlitePayoutStore } from "../../src/payouts/sqlite-store.js";
import { tempDir } from "../helpers/hub-process.js";
import { serviceAvailable } from "../helpers/services.js";
import { win } from "../hub/contract/ledger-contract.js";
import { postgresSchema } from "../hub/contract/stores.js";
import { previousPostgres, previousSqlite } from "./previous-release.js";

/** What the previous release's seed (previous-release.ts) must still read as, and still take. */
async function expectSeedServed(ledger: Ledger, payouts: PayoutStore): Promise<void> {
  expect(await ledger.service("svc")).toEqual({
    name: "svc",
    keyHash: "hash",
    public: true,
    display: "Svc",
    website: "https://svc.example",
    rate: 2.5,
    burst: 7,
    precache: 3,
    ondemand: 4,
    createdAt: 1000,
  });
  expect(await ledger.solvedWork("AB".repeat(32))).toMatchObject({ work: 0x1234n });
  expect((await payouts.plan("plan-1"))?.items).toEqual([
    expect.objectContaining({ worker: "nano_worker", status: "paid", amount: 100n, paidAt: 20 }),
  ]);
  // The paid plan covered win 1: only the precache win is unpaid, and new wins carry on from it.
  expect((await payouts.unpaidWork()).workers).toEqual([
    expect.objectContaining({ worker: "nano_worker", precache: 1, ondemand: 0 }),
  ]);
  expect(await ledger.recordWin(win("job-3", "nano_worker"))).toEqual({
    recorded: true,
    counters: { precache: 1, ondemand: 2 },
  });
  expect(await ledger.recordWin(win("job-1", "nano_worker"))).toMatchObject({ recorded: false });
  expect((await payouts.unpaidWork()).throughWinId).toBe(3);
}

const records = ["dpow_migrations", "payout_migrations"];

describe("a SQLite file made by the previous release", () => {
  const temp = tempDir();
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  afterAll(() => temp.remove());

  function open(file: string) {
    const ledger = new SqliteLedger(file);
    const payouts = new SqlitePayoutStore(file);
    const frontiers = new FrontierStore(file, { limit: 10, ttlMs: 60_000 });
    closers.push(
      () => ledger.close(),
      () => payouts.close(),
      () => frontiers.close(),
    );
    return { ledger, payouts, frontiers };
  }

  const versions = (file: string, table: string) => {
    const raw = new Database(file, { readonly: true });
    try {
      return raw.prepare(`SELECT version FROM ${table}`).all();
    } finally {
      raw.close();
    }
  };

  it("upgrades in place: every row kept, each module's step 1 recorded", async () => {
    const file = join(temp.dir, "previous.db");
    previousSqlite(file);
    const { ledger, payouts, frontiers } = open(file);
    await expectSeedServed(ledger, payouts);
    expect(frontiers.load().map((f) => f.account)).toEqual(["nano_account"]);
    for (const table of [...records, "precache_migrations"])
      expect(versions(file, table)).toEqual([{ version: 1 }]);
  });

  it("upgrades a file from before the wins_hash index, adding it", async () => {
    const file = join(temp.dir, "before-index.db");
    previousSqlite(file, 1);
    const { ledger, payouts } = open(file);
    await expectSeedServed(ledger, payouts);
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'wins_hash'").get()).toBeDefined();
    raw.close();
  });

  it("refuses a file a newer release migrated further, naming the module", () => {
    const file = join(temp.dir, "future.db");
    new SqliteLedger(file).close();
    new SqlitePayoutStore(file).close();
    const raw = new Database(file);
    raw.exec("INSERT INTO payout_migrations (version, applied_at) VALUES (2, 0)");
    raw.close();
    expect(() => new SqliteLedger(file).close()).not.toThrow();
    expect(() => new SqlitePayoutStore(file)).toThrow(
      /newer version of dpow \(payout_migrations 2, this one knows 1\)/,
    );
  });
});

describe.runIf(await serviceAvailable("postgres"))("a PostgreSQL ledger made by the previous release", () => {
  it("upgrades in place: every row kept, the payouts' step 1 recorded beside the ledger's", async () => {
    const schema = await postgresSchema();
    try {
      await previousPostgres(schema.url);
      const ledger = await PostgresLedger.connect(schema.url);
      const payouts = await PostgresPayoutStore.connect(schema.url);
      try {
        await expectSeedServed(ledger, payouts);
      } finally {
        await payouts.close();
        await ledger.close();
      }
      for (const table of records) {
        expect(await schema.query(`SELECT version FROM ${table}`)).toEqual([{ version: 1 }]);
      }
    } finally {
      await schema.drop();
    }
  });
});
