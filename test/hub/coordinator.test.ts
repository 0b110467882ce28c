import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExpiringMap } from "../../src/hub/coordinator/expiring-map.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";

const HASH = "AB".repeat(32);
const job = (difficulty: bigint, ttlMs = 1000) => ({
  hash: HASH,
  type: "ondemand" as const,
  difficulty,
  service: "svc",
  ttlMs,
});

describe("MemoryCoordinator", () => {
  it("joins an open job at the same or lower difficulty, and opens a new one above it", async () => {
    const c = new MemoryCoordinator();
    const first = await c.openJob(job(10n));
    expect(first.created).toBe(true);
    expect(await c.openJob(job(10n))).toEqual({ job: first.job, created: false });
    expect(await c.openJob(job(5n))).toEqual({ job: first.job, created: false });
    const raised = await c.openJob(job(20n));
    expect(raised.created).toBe(true);
    expect(raised.job.id).not.toBe(first.job.id);
    expect((await c.job(HASH))?.difficulty).toBe(20n);
    // Closing the old job leaves the newer one alone.
    await c.closeJob(HASH, first.job.id);
    expect((await c.job(HASH))?.id).toBe(raised.job.id);
    await c.closeJob(HASH, raised.job.id);
    expect(await c.job(HASH)).toBeUndefined();
  });

  it("expires jobs, and extends them when a request joins", async () => {
    let now = 0;
    const c = new MemoryCoordinator({ now: () => now });
    await c.openJob(job(1n, 100));
    now = 90;
    await c.openJob(job(1n, 100));
    now = 150;
    expect(await c.job(HASH)).toBeDefined();
    expect(await c.openJobCount()).toBe(1);
    now = 191;
    expect(await c.job(HASH)).toBeUndefined();
    expect(await c.openJobCount()).toBe(0);
  });

  it("lets exactly one caller claim a job's win", async () => {
    const c = new MemoryCoordinator();
    const claims = await Promise.all(Array.from({ length: 20 }, () => c.claimWin("job-1")));
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await c.claimWin("job-2")).toBe(true);
  });

  it("keeps the best work per hash, bounded and expiring", async () => {
    let now = 0;
    const c = new MemoryCoordinator({ cacheSize: 2, cacheTtlMs: 100, now: () => now });
    await c.cacheWork({ hash: "A", work: 1n, value: 10n });
    await c.cacheWork({ hash: "A", work: 2n, value: 5n });
    expect(await c.cachedWork("A")).toEqual({ hash: "A", work: 1n, value: 10n });
    await c.cacheWork({ hash: "A", work: 3n, value: 20n });
    expect((await c.cachedWork("A"))?.work).toBe(3n);
    await c.cacheWork({ hash: "B", work: 1n, value: 1n });
    await c.cacheWork({ hash: "C", work: 1n, value: 1n });
    expect(await c.cachedWork("A")).toBeUndefined();
    now = 100;
    expect(await c.cachedWork("C")).toBeUndefined();
  });

  it("remembers frontiers", async () => {
    const c = new MemoryCoordinator();
    await c.setFrontier("nano_x", HASH);
    expect(await c.frontier("nano_x")).toBe(HASH);
    expect(await c.frontier("nano_y")).toBeUndefined();
  });
});

describe("ExpiringMap", () => {
  it("never holds more than its bound, and agrees with a model map on live entries", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 7 }),
            ttl: fc.integer({ min: 1, max: 20 }),
            tick: fc.nat(5),
          }),
          { maxLength: 60 },
        ),
        (bound, ops) => {
          let now = 0;
          const map = new ExpiringMap<number, number>(bound, () => now);
          const model = new Map<number, number>(); // key -> expiry, in write order
          for (const [i, { key, ttl, tick }] of ops.entries()) {
            now += tick;
            map.set(key, i, ttl);
            model.delete(key);
            model.set(key, now + ttl);
            while (model.size > bound) model.delete(model.keys().next().value as number);
            expect(map.size).toBeLessThanOrEqual(bound);
            for (const [k, expiry] of model) expect(map.get(k) !== undefined).toBe(expiry > now);
          }
        },
      ),
    );
  });
});
