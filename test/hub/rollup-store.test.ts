/**
 * The dashboard's rollup store, one contract on SQLite and PostgreSQL: replicas add to rows of
 * their own and readers see the sums, grouped into steps; pruning drops by age and span only.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLLUP_SCHEMA, SqlRollupStore } from "../../src/hub/dashboard/rollup-store.js";
import { LATENCY_BUCKETS_S } from "../../src/hub/metrics.js";
import type { RollupCounts, RollupStore } from "../../src/hub/ports.js";
import { PostgresDatabase } from "../../src/sql/postgres.js";
import { SqliteDatabase } from "../../src/sql/sqlite.js";
import { serviceAvailable } from "../helpers/services.js";
import { type PostgresSchema, postgresSchema } from "./contract/stores.js";

const BUCKETS = LATENCY_BUCKETS_S.length + 1;

function counts(cache: number, ondemand: number, timeout = 0, error = 0, bucket = 0): RollupCounts {
  const latency = new Array<number>(BUCKETS).fill(0);
  latency[bucket] = cache + ondemand;
  return { cache, ondemand, timeout, error, latency };
}

function rollupContract(name: string, open: () => Promise<RollupStore>) {
  describe(`rollup store: ${name}`, () => {
    let store: RollupStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(() => store?.close());

    it("sums the replicas' rows per slot and per minute", async () => {
      const t = 1_700_000_040; // a minute boundary
      await store.add("a", t, counts(3, 1, 0, 0, 0));
      await store.add("a", t, counts(1, 0, 0, 2, 0)); // the same slot again: added, not replaced
      await store.add("b", t, counts(0, 5, 1, 0, 12));
      await store.add("a", t + 10, counts(2, 0));
      const slots = await store.read("10s", t, t + 60, 10);
      expect(slots.map((p) => [p.startS, p.cache, p.ondemand, p.timeout, p.error])).toEqual([
        [t, 4, 6, 1, 2],
        [t + 10, 2, 0, 0, 0],
      ]);
      expect(slots[0]?.latency[0]).toBe(5);
      expect(slots[0]?.latency[12]).toBe(5);
      expect(slots[0]?.latency).toHaveLength(BUCKETS);
      const minutes = await store.read("1m", t - 600, t + 600, 60);
      expect(minutes.map((p) => [p.startS, p.cache + p.ondemand])).toEqual([[t, 12]]);
    });

    it("groups into longer steps and leaves empty ones out", async () => {
      const hour = 1_700_002_800; // an hour boundary
      await store.add("a", hour + 120, counts(1, 1));
      await store.add("b", hour + 3000, counts(0, 3));
      await store.add("a", hour + 3600 + 60, counts(4, 0));
      const hours = await store.read("1m", hour, hour + 7200, 3600);
      expect(hours.map((p) => [p.startS, p.cache, p.ondemand])).toEqual([
        [hour, 1, 4],
        [hour + 3600, 4, 0],
      ]);
      await expect(store.read("1m", hour, hour + 60, 10)).rejects.toThrow(/multiple/);
    });

    it("prunes one span by age", async () => {
      const t = 1_600_000_020;
      await store.add("a", t, counts(1, 0));
      await store.add("a", t + 3600, counts(1, 0));
      expect(await store.prune("10s", t + 1)).toBe(1);
      expect(await store.read("10s", t, t + 10, 10)).toEqual([]);
      expect(await store.read("1m", t - 60, t + 60, 60)).toHaveLength(1); // the minute stays
      expect(await store.prune("1m", t + 1)).toBe(1);
      expect(await store.read("1m", t + 3600 - 60, t + 3660, 60)).toHaveLength(1);
    });
  });
}

rollupContract(
  "SQLite",
  async () => new SqlRollupStore(SqliteDatabase.open(":memory:", "normal", [ROLLUP_SCHEMA])),
);

describe.runIf(await serviceAvailable("postgres"))("on PostgreSQL", () => {
  let schema: PostgresSchema;
  beforeAll(async () => {
    schema = await postgresSchema();
  });
  afterAll(() => schema?.drop());
  rollupContract("PostgreSQL", async () => {
    // Two replicas racing to create the table at start both succeed.
    const [first, second] = await Promise.all([
      PostgresDatabase.connect(schema.url, 1, [ROLLUP_SCHEMA]).then((db) => new SqlRollupStore(db)),
      PostgresDatabase.connect(schema.url, 1, [ROLLUP_SCHEMA]).then((db) => new SqlRollupStore(db)),
    ]);
    await second.close();
    return first;
  });
});
