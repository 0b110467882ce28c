/**
 * What every Coordinator must do, whatever stores it: run against the in-memory one and the Redis
 * one. Each test gets two replicas' views of one fresh store (for the in-memory coordinator, the
 * same object twice), and splits its calls between them.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Coordinator, OpenJobRequest } from "../../../src/hub/ports.js";
import { U64_MAX } from "../../../src/nano/hex.js";

export interface StoreOptions {
  cacheTtlMs?: number;
  frontierTtlMs?: number;
}

export interface SharedStore {
  replicas: [Coordinator, Coordinator];
  dispose(): Promise<void>;
}

export type OpenSharedStore = (options?: StoreOptions) => Promise<SharedStore>;

const randomHash = () => randomBytes(32).toString("hex").toUpperCase();
const request = (hash: string, difficulty: bigint, ttlMs = 60_000): OpenJobRequest => ({
  hash,
  type: "ondemand",
  difficulty,
  service: "svc",
  ttlMs,
});

/**
 * What the expiry tests give a thing to live: long enough that two calls in a row land inside it on
 * a loaded machine (150 ms left no room for a stall), short enough to wait for.
 */
const SHORT_TTL_MS = 1000;

/** Polls `check` until it holds: for expiries, which happen on the store's own clock. */
async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function coordinatorContract(name: string, openStore: OpenSharedStore): void {
  describe(`Coordinator contract: ${name}`, () => {
    const stores: SharedStore[] = [];
    const open = async (options?: StoreOptions) => {
      const store = await openStore(options);
      stores.push(store);
      return store.replicas;
    };
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.dispose();
    });

    it("joins an open job at the same or lower difficulty, and opens a new one above it", async () => {
      const [a, b] = await open();
      const hash = randomHash();
      const first = await a.openJob(request(hash, 10n));
      expect(first.created).toBe(true);
      expect(await b.openJob(request(hash, 10n))).toEqual({ job: first.job, created: false });
      expect(await a.openJob(request(hash, 5n))).toEqual({ job: first.job, created: false });
      const raised = await b.openJob(request(hash, 20n));
      expect(raised.created).toBe(true);
      expect(raised.job.id).not.toBe(first.job.id);
      expect((await a.job(hash))?.difficulty).toBe(20n);
      // Closing the old job leaves the newer one alone.
      await a.closeJob(hash, first.job.id);
      expect((await b.job(hash))?.id).toBe(raised.job.id);
      await a.closeJob(hash, raised.job.id);
      expect(await b.job(hash)).toBeUndefined();
      expect(await a.openJobCount()).toBe(0);
    });

    it("keeps every field of a job, a precache job without a service included", async () => {
      const [a, b] = await open();
      const hash = randomHash();
      const { job } = await a.openJob({
        hash,
        type: "precache",
        difficulty: U64_MAX,
        service: null,
        ttlMs: 60_000,
      });
      expect(job).toMatchObject({ hash, type: "precache", difficulty: U64_MAX, service: null });
      expect(await b.job(hash)).toEqual(job);
      expect(await b.job(randomHash())).toBeUndefined();
    });

    it("compares difficulties as full 64-bit numbers", async () => {
      const [a, b] = await open();
      await fc.assert(
        fc.asyncProperty(
          fc.bigInt({ min: 0n, max: U64_MAX }),
          fc.bigInt({ min: 0n, max: U64_MAX }),
          async (x, y) => {
            const hash = randomHash();
            await a.openJob(request(hash, x));
            const second = await b.openJob(request(hash, y));
            expect(second.created).toBe(y > x);
            expect((await a.job(hash))?.difficulty).toBe(second.created ? y : x);
            await a.closeJob(hash, second.job.id);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("expires jobs, and extends one when a request joins it", async () => {
      const [a, b] = await open();
      const joined = randomHash();
      const alone = randomHash();
      await a.openJob(request(joined, 1n, SHORT_TTL_MS));
      await b.openJob(request(joined, 1n, 60_000));
      await a.openJob(request(alone, 1n, SHORT_TTL_MS));
      expect(await b.openJobCount()).toBe(2);
      await eventually("the job nobody joined to expire", async () => (await b.job(alone)) === undefined);
      expect(await a.job(joined)).toBeDefined();
      expect(await a.openJobCount()).toBe(1);
    });

    it("lets exactly one caller claim a job's win, across replicas", async () => {
      const [a, b] = await open();
      const claims = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claimWin("job-1")),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await b.claimWin("job-2")).toBe(true);
      expect(await a.claimWin("job-2")).toBe(false);
    });

    it("keeps the best work per hash, whatever order it arrives in", async () => {
      const [a, b] = await open();
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.bigInt({ min: 0n, max: U64_MAX }), { minLength: 1, maxLength: 6 }),
          async (values) => {
            const hash = randomHash();
            for (const [i, value] of values.entries()) {
              await (i % 2 ? a : b).cacheWork({ hash, work: BigInt(i), value });
            }
            const best = [...values].sort((p, q) => (p < q ? 1 : p > q ? -1 : 0))[0] as bigint;
            // On a tie the first arrival stays.
            expect(await a.cachedWork(hash)).toEqual({
              hash,
              work: BigInt(values.indexOf(best)),
              value: best,
            });
          },
        ),
        { numRuns: 30 },
      );
    });

    it("forgets dropped work, and expires cached work", async () => {
      const [a, b] = await open({ cacheTtlMs: SHORT_TTL_MS });
      const hash = randomHash();
      await a.cacheWork({ hash, work: 1n, value: 2n });
      await b.dropWork(hash);
      expect(await a.cachedWork(hash)).toBeUndefined();
      await a.cacheWork({ hash, work: 3n, value: 4n });
      expect(await b.cachedWork(hash)).toEqual({ hash, work: 3n, value: 4n });
      await eventually("cached work to expire", async () => (await b.cachedWork(hash)) === undefined);
    });

    it("remembers frontiers until they expire", async () => {
      const [a, b] = await open({ frontierTtlMs: SHORT_TTL_MS });
      const hash = randomHash();
      await a.setFrontier("nano_x", hash);
      expect(await b.frontier("nano_x")).toBe(hash);
      expect(await b.frontier("nano_y")).toBeUndefined();
      await eventually("the frontier to expire", async () => (await a.frontier("nano_x")) === undefined);
    });
  });
}
