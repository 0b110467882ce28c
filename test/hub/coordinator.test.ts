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

/** What only the in-memory coordinator does: bounds, and exact expiry on an injected clock. The rest is in contract/. */
describe("MemoryCoordinator", () => {
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

  it("bounds the work cache, dropping the oldest first", async () => {
    const c = new MemoryCoordinator({ cacheSize: 2 });
    await c.cacheWork({ hash: "A", work: 1n, value: 10n });
    await c.cacheWork({ hash: "B", work: 1n, value: 1n });
    await c.cacheWork({ hash: "C", work: 1n, value: 1n });
    expect(await c.cachedWork("A")).toBeUndefined();
    expect((await c.cachedWork("C"))?.work).toBe(1n);
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
