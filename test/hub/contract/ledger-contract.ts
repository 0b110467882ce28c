/**
 * What every Ledger must do, whatever stores it: run against the SQLite one and the Postgres one.
 * Each test gets a fresh store and may open several connections to it (the server and the
 * operator CLI, or two hub replicas).
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { apiKeyMatches } from "../../../src/hub/api-keys.js";
import { type Ledger, LedgerError, type Win } from "../../../src/hub/ports.js";
import { addService, rotateServiceKey, updateService } from "../../../src/hub/service-admin.js";
import { parseHash } from "../../../src/nano/hex.js";
import { workValue } from "../../../src/nano/work.js";
import { randomHash, solve } from "../../helpers/fake-worker.js";

export interface LedgerStore {
  /** A connection to the store (each call a new one, closed by dispose). */
  connect(): Promise<Ledger>;
  dispose(): Promise<void>;
}

/** A win of `worker` on job `jobId`, at the send difficulty. */
export const win = (
  jobId: string,
  worker: string,
  type: Win["type"] = "ondemand",
  hash = "AB".repeat(32),
): Win => ({
  jobId,
  hash,
  type,
  worker,
  service: "svc",
  difficulty: 0xfffffff800000000n,
  work: 0x1234n,
  at: 1,
});

export function ledgerContract(name: string, openStore: () => Promise<LedgerStore>): void {
  describe(`Ledger contract: ${name}`, () => {
    const stores: LedgerStore[] = [];
    const open = async () => {
      const store = await openStore();
      stores.push(store);
      return store;
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.dispose();
    });

    it("credits each job exactly once, however often and in whatever order it is recorded", async () => {
      const ledger = await (await open()).connect();
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({ job: fc.integer({ min: 0, max: 9 }), worker: fc.constantFrom("a", "b", "c") }),
            {
              maxLength: 40,
            },
          ),
          async (attempts) => {
            // Each run gets its own jobs and workers, so one store serves every run.
            const run = randomUUID();
            const before = (await ledger.statistics()).work.ondemand;
            const firstWorker = new Map<number, string>();
            for (const { job, worker } of attempts) {
              const { recorded } = await ledger.recordWin(win(`${run}-${job}`, `${run}-${worker}`));
              expect(recorded).toBe(!firstWorker.has(job));
              if (!firstWorker.has(job)) firstWorker.set(job, worker);
            }
            for (const worker of ["a", "b", "c"]) {
              const expected = [...firstWorker.values()].filter((w) => w === worker).length;
              expect(await ledger.workerCounters(`${run}-${worker}`)).toEqual({
                precache: 0,
                ondemand: expected,
              });
            }
            expect((await ledger.statistics()).work.ondemand).toBe(before + firstWorker.size);
          },
        ),
        { numRuns: 30 },
      );
    });

    it("credits a job once when replicas record it at the same time", async () => {
      const store = await open();
      const replicas = [await store.connect(), await store.connect()];
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (replicas[i % 2] as Ledger).recordWin(win("raced", `w${i}`))),
      );
      expect(results.filter((r) => r.recorded)).toHaveLength(1);
      expect((await (replicas[0] as Ledger).statistics()).work).toEqual({ precache: 0, ondemand: 1 });
    });

    it("counts precache and on-demand wins apart and returns the counters after the win", async () => {
      const ledger = await (await open()).connect();
      expect((await ledger.recordWin(win("1", "w", "precache"))).counters).toEqual({
        precache: 1,
        ondemand: 0,
      });
      expect((await ledger.recordWin(win("2", "w"))).counters).toEqual({ precache: 1, ondemand: 1 });
      expect(await ledger.recordWin(win("2", "w"))).toEqual({
        recorded: false,
        counters: { precache: 1, ondemand: 1 },
      });
      expect(await ledger.workerCounters("nobody")).toEqual({ precache: 0, ondemand: 0 });
    });

    it("remembers the best work won on demand for a hash, valued afresh", async () => {
      const ledger = await (await open()).connect();
      const hash = randomHash();
      expect(await ledger.solvedWork(hash)).toBeUndefined();
      const works = [solve(hash, 0xf000000000000000n), solve(hash, 0xff00000000000000n)];
      for (const [i, work] of works.entries())
        await ledger.recordWin({ ...win(`solved-${i}`, "w", "ondemand", hash), work });
      const values = works.map((w) => workValue(parseHash(hash), w));
      const best = (values[0] as bigint) > (values[1] as bigint) ? 0 : 1;
      expect(await ledger.solvedWork(hash)).toEqual({ hash, work: works[best], value: values[best] });
      expect(await ledger.solvedWork(randomHash())).toBeUndefined();
      // Precache work is precache's to keep or drop.
      const precached = randomHash();
      await ledger.recordWin({ ...win("precached", "w", "precache", precached), work: solve(precached, 0n) });
      expect(await ledger.solvedWork(precached)).toBeUndefined();
    });

    it("manages services: add, refuse duplicates, update, re-key, delete", async () => {
      const ledger = await (await open()).connect();
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
      expect(await ledger.service("svc")).toEqual(service);
      await expect(addService(ledger, "svc", {})).rejects.toThrow(LedgerError);
      await expect(addService(ledger, "bad name!", {})).rejects.toThrow(/service name must be/);
      await expect(updateService(ledger, "svc", { rate: -1 })).rejects.toThrow(/rate must be/);
      expect(await updateService(ledger, "svc", { public: true, display: "S", rate: 0.5 })).toMatchObject({
        public: true,
        display: "S",
        rate: 0.5,
      });
      await expect(updateService(ledger, "nope", { rate: 1 })).rejects.toThrow(/no service named "nope"/);
      const newKey = await rotateServiceKey(ledger, "svc");
      const rotated = await ledger.service("svc");
      expect(apiKeyMatches(newKey, rotated?.keyHash ?? "")).toBe(true);
      expect(apiKeyMatches(apiKey, rotated?.keyHash ?? "")).toBe(false);
      await expect(rotateServiceKey(ledger, "nope")).rejects.toThrow(LedgerError);
      expect(await ledger.deleteService("svc")).toBe(true);
      expect(await ledger.deleteService("svc")).toBe(false);
      expect(await ledger.services()).toEqual([]);
    });

    it("builds the statistics payload from public and private services", async () => {
      const ledger = await (await open()).connect();
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
      await ledger.addServiceCounts(new Map([["p1", { precache: 0, ondemand: 1 }]]));
      await ledger.addServiceCounts(new Map());
      await ledger.recordWin(win("j", "w", "precache"));
      expect(await ledger.statistics()).toEqual({
        services: {
          public: [{ display: "Pub", website: "https://pub.example", precache: 1, ondemand: 2 }],
          private: { count: 2, precache: 3, ondemand: 6 },
        },
        work: { precache: 1, ondemand: 0 },
      });
    });

    it("shares one store between connections (the CLI next to a running server)", async () => {
      const store = await open();
      const server = await store.connect();
      const cli = await store.connect();
      await addService(cli, "added-by-cli", {});
      expect((await server.service("added-by-cli"))?.name).toBe("added-by-cli");
      await server.recordWin(win("x", "w"));
      expect(await cli.workerCounters("w")).toEqual({ precache: 0, ondemand: 1 });
    });
  });
}
