import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeyMatches } from "../../src/hub/api-keys.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { LedgerError, type Win } from "../../src/hub/ports.js";
import { addService, rotateServiceKey, updateService } from "../../src/hub/service-admin.js";
import { tempDir } from "../helpers/hub-process.js";

const open: SqliteLedger[] = [];
const ledgerAt = (file = ":memory:") => {
  const ledger = new SqliteLedger(file);
  open.push(ledger);
  return ledger;
};
afterEach(async () => {
  for (const ledger of open.splice(0)) await ledger.close();
});

const win = (jobId: string, worker: string, type: Win["type"] = "ondemand"): Win => ({
  jobId,
  hash: "AB".repeat(32),
  type,
  worker,
  service: "svc",
  difficulty: 0xfffffff800000000n,
  work: 0x1234n,
  at: 1,
});

describe("SqliteLedger", () => {
  it("credits each job exactly once, however often and in whatever order it is recorded", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ job: fc.integer({ min: 0, max: 9 }), worker: fc.constantFrom("a", "b", "c") }), {
          maxLength: 40,
        }),
        async (attempts) => {
          const ledger = new SqliteLedger(":memory:");
          const firstWorker = new Map<number, string>();
          for (const { job, worker } of attempts) {
            const { recorded } = await ledger.recordWin(win(`job-${job}`, worker));
            expect(recorded).toBe(!firstWorker.has(job));
            if (!firstWorker.has(job)) firstWorker.set(job, worker);
          }
          for (const worker of ["a", "b", "c"]) {
            const expected = [...firstWorker.values()].filter((w) => w === worker).length;
            expect(await ledger.workerCounters(worker)).toEqual({ precache: 0, ondemand: expected });
          }
          expect((await ledger.statistics()).work.ondemand).toBe(firstWorker.size);
          await ledger.close();
        },
      ),
      { numRuns: 50 },
    );
  });

  it("counts precache and on-demand wins apart and returns the counters after the win", async () => {
    const ledger = ledgerAt();
    expect((await ledger.recordWin(win("1", "w", "precache"))).counters).toEqual({
      precache: 1,
      ondemand: 0,
    });
    expect((await ledger.recordWin(win("2", "w"))).counters).toEqual({ precache: 1, ondemand: 1 });
    expect((await ledger.recordWin(win("2", "w"))).recorded).toBe(false);
  });

  it("manages services: add, refuse duplicates, update, re-key, delete", async () => {
    const ledger = ledgerAt();
    const { service, apiKey } = await addService(ledger, "svc", { rate: 5 });
    expect(service).toMatchObject({
      name: "svc",
      public: false,
      rate: 5,
      burst: 200,
      precache: 0,
      ondemand: 0,
    });
    expect(apiKeyMatches(apiKey, service.keyHash)).toBe(true);
    expect(service.keyHash).not.toContain(apiKey);
    await expect(addService(ledger, "svc", {})).rejects.toThrow(LedgerError);
    await expect(addService(ledger, "bad name!", {})).rejects.toThrow(/service name must be/);
    await expect(updateService(ledger, "svc", { rate: -1 })).rejects.toThrow(/rate must be/);
    expect(await updateService(ledger, "svc", { public: true, display: "S" })).toMatchObject({
      public: true,
      display: "S",
    });
    await expect(updateService(ledger, "nope", { rate: 1 })).rejects.toThrow(/no service named "nope"/);
    const newKey = await rotateServiceKey(ledger, "svc");
    const rotated = await ledger.service("svc");
    expect(apiKeyMatches(newKey, rotated?.keyHash ?? "")).toBe(true);
    expect(apiKeyMatches(apiKey, rotated?.keyHash ?? "")).toBe(false);
    expect(await ledger.deleteService("svc")).toBe(true);
    expect(await ledger.deleteService("svc")).toBe(false);
    expect(await ledger.services()).toEqual([]);
  });

  it("builds the statistics payload from public and private services", async () => {
    const ledger = ledgerAt();
    await addService(ledger, "pub", { public: true, display: "Pub", website: "https://pub.example" });
    await addService(ledger, "p1", {});
    await addService(ledger, "p2", {});
    await ledger.addServiceCounts(
      new Map([
        ["pub", { precache: 1, ondemand: 2 }],
        ["p1", { precache: 3, ondemand: 4 }],
        ["p2", { precache: 0, ondemand: 1 }],
        ["gone", { precache: 9, ondemand: 9 }],
      ]),
    );
    await ledger.recordWin(win("j", "w", "precache"));
    expect(await ledger.statistics()).toEqual({
      services: {
        public: [{ display: "Pub", website: "https://pub.example", precache: 1, ondemand: 2 }],
        private: { count: 2, precache: 3, ondemand: 5 },
      },
      work: { precache: 1, ondemand: 0 },
    });
  });

  it("shares one file between processes' connections (the CLI next to a running server)", async () => {
    const t = tempDir();
    try {
      const file = join(t.dir, "shared.db");
      const server = ledgerAt(file);
      const cli = ledgerAt(file);
      await addService(cli, "added-by-cli", {});
      expect((await server.service("added-by-cli"))?.name).toBe("added-by-cli");
      await server.recordWin(win("x", "w"));
      expect(await cli.workerCounters("w")).toEqual({ precache: 0, ondemand: 1 });
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(raw.pragma("user_version", { simple: true })).toBe(1);
      raw.close();
    } finally {
      t.remove();
    }
  });

  it("refuses a database written by a newer schema", () => {
    const t = tempDir();
    try {
      const file = join(t.dir, "future.db");
      const raw = new Database(file);
      raw.pragma("user_version = 99");
      raw.close();
      expect(() => new SqliteLedger(file)).toThrow(/newer version of dpow/);
    } finally {
      t.remove();
    }
  });
});
