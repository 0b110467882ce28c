import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { type RunningMosquitto, startMosquitto } from "../broker/mosquitto.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  serverArgs,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
  waitForValue,
} from "../helpers/hub-process.js";
import { freePort } from "../helpers/ports.js";
import { serviceAvailable } from "../helpers/services.js";
import { type PostgresSchema, postgresSchema, type RedisSpace, redisSpace } from "./contract/stores.js";

/**
 * The scale-out shape for real: two `dpow server` processes sharing a Mosquitto (the shipped
 * deploy/mosquitto config), Redis and PostgreSQL, with three MQTT workers racing to solve every
 * job. Each replica serves its own service; some hashes are asked of both at once. Every solved
 * hash must be broadcast once and credited exactly once across the replicas.
 */
const available =
  (await serviceAvailable("mosquitto")) &&
  (await serviceAvailable("redis")) &&
  (await serviceAvailable("postgres"));

const ROUNDS = 8;
const BASE = parseU64(TEST_DIFFICULTY, "difficulty");
const temp = tempDir();
let mosquitto: RunningMosquitto;
let redis: RedisSpace;
let postgres: PostgresSchema;
let replicas: HubProcess[] = [];
let workers: FakeWorker[] = [];

/** `dpow service ...` on the shared ledger, as the operator runs it; returns its JSON output. */
function service(args: string[]): Record<string, unknown> {
  const result = runCli(["service", ...args, "--postgres", postgres.url, "--json"]);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  if (!available) return;
  mosquitto = await startMosquitto();
  redis = redisSpace();
  postgres = await postgresSchema();
  const mqttUrl = `mqtt://dpowserver:${mosquitto.passwords.dpowserver}@127.0.0.1:${mosquitto.mqttPort}`;
  const shared = ["--mqtt-url", mqttUrl, "--redis-prefix", redis.prefix, "--postgres", postgres.url];
  replicas = await Promise.all(
    // --redis from the environment, as a deployment would set it.
    ["a", "b"].map((name) =>
      spawnHub(join(temp.dir, `unused-${name}.db`), shared, { DPOW_REDIS_URL: redis.url }),
    ),
  );
  workers = await Promise.all(
    [0, 1, 2].map(() =>
      FakeWorker.connect(mosquitto.mqttPort, { auto: true, password: mosquitto.passwords.client }),
    ),
  );
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await Promise.all(replicas.map((r) => r.stop("SIGKILL")));
  await mosquitto?.dispose();
  await redis?.drop();
  await postgres?.drop();
  temp.remove();
});

describe.runIf(available)("two dpow server replicas on Mosquitto, Redis and PostgreSQL", () => {
  it("answers each replica's own services and credits every solve exactly once", async () => {
    const [a, b] = replicas as [HubProcess, HubProcess];
    const alpha = service(["add", "alpha", "--rate", "0"]) as { user: string; api_key: string };
    const beta = service(["add", "beta", "--rate", "0"]) as { user: string; api_key: string };
    const ask = async (hub: HubProcess, who: { user: string; api_key: string }, hash: string) => {
      // Each win is a commit on a shared PostgreSQL: the longest timeout, not the default 5 s.
      const { json } = await postWork(hub, { user: who.user, api_key: who.api_key, hash, timeout: 30 });
      expect(json.hash, JSON.stringify(json)).toBe(hash);
      expect(workValue(parseHash(hash), parseU64(json.work, "work")) >= BASE).toBe(true);
    };

    const hashes: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [onA, onB, onBoth] = [randomHash(), randomHash(), randomHash()];
      hashes.push(onA, onB, onBoth);
      await Promise.all([ask(a, alpha, onA), ask(b, beta, onB), ask(a, alpha, onBoth), ask(b, beta, onBoth)]);
    }

    // Every hash broadcast, to every worker, whichever replica (or both) asked (checked for
    // "once" after the replicas stop, when no broadcast can still be on its way).
    for (const worker of workers) for (const hash of hashes) await worker.waitForJob(hash);
    // Each replica judges every result; together they count one win per hash.
    const results = 3 * hashes.length;
    const judged = (hub: HubProcess) =>
      Promise.all(
        ["win", "late", "improved"].map((outcome) => metric(hub, `dpow_results_total{outcome="${outcome}"}`)),
      ).then((counts) => counts.reduce((sum, n) => sum + n, 0));
    for (const hub of replicas)
      await waitForValue(
        "results judged",
        () => judged(hub),
        (n) => n === results,
      );
    const wins =
      (await metric(a, 'dpow_results_total{outcome="win"}')) +
      (await metric(b, 'dpow_results_total{outcome="win"}'));
    expect(wins).toBe(hashes.length);
    const rewarded = () =>
      workers.reduce((sum, w) => sum + w.feedback.filter((f) => f.block_rewarded).length, 0);
    await waitForValue(
      "every winner told of its reward",
      async () => rewarded(),
      (n) => n >= hashes.length,
    );

    // Clean stops flush the services' request counts to the shared ledger.
    for (const hub of replicas) expect(await hub.stop("SIGTERM")).toBe(0);
    expect(rewarded()).toBe(hashes.length);
    for (const worker of workers) {
      for (const hash of hashes) expect(worker.jobs.filter((j) => j.hash === hash)).toHaveLength(1);
    }

    const rows = await postgres.query<{ hash: string; credits: string }>(
      "SELECT hash, COUNT(*) AS credits FROM wins GROUP BY hash",
    );
    expect(rows.map((r) => r.hash).sort()).toEqual([...hashes].sort());
    expect(rows.every((r) => r.credits === "1")).toBe(true);
    const counters = await postgres.query<{ total: string }>("SELECT SUM(ondemand) AS total FROM workers");
    expect(Number(counters[0]?.total)).toBe(hashes.length);
    // A request that found the other replica's work already cached counts as precache.
    for (const user of ["alpha", "beta"]) {
      const stats = service(["stats", user]) as { precache: number; ondemand: number };
      expect(stats.precache + stats.ondemand).toBe(2 * ROUNDS);
    }
  });
});

describe("dpow server and dpow service with an unreachable shared store", () => {
  it("refuse with one line naming the flag to fix", async () => {
    const port = await freePort();
    const db = join(temp.dir, "refused.db");
    const redis = runCli(serverArgs(db, ["--redis", `redis://127.0.0.1:${port}`]));
    expect(redis.status).toBe(2);
    expect(redis.stderr).toMatch(/^dpow: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+.*fix --redis\n$/);
    const postgresUrl = `postgres://dpow:secret@127.0.0.1:${port}/dpow`;
    const service = runCli(["service", "list"], { env: { DPOW_POSTGRES_URL: postgresUrl } });
    expect(service.status).toBe(2);
    expect(service.stderr).toMatch(
      /^dpow: cannot use PostgreSQL at postgres:\/\/dpow:\*\*\*@.*fix --postgres\n$/,
    );
  });
});
