import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";
import { DifficultyPolicy } from "../../src/hub/difficulty-policy.js";
import { type Hub, startHub } from "../../src/hub/hub.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import type { Job } from "../../src/hub/ports.js";
import { addService } from "../../src/hub/service-admin.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { FakeWorker, randomHash, solve } from "../helpers/fake-worker.js";

/**
 * Two interleavings between hub replicas that the chaos run (`npm run chaos`) caught, forced here
 * in one process: a replica that took a job's first-result
 * claim and died before crediting it, and a job opened just before another job for its hash was
 * won. One hub runs; the test plays the other replica on the coordinator they would share. Either
 * way every answered hash is credited exactly once.
 */
const BASE = 0xf000000000000000n;
let broker: EmbeddedBroker;
let ledger: SqliteLedger;
let coordinator: MemoryCoordinator;
let hub: Hub;
let worker: FakeWorker;
let credentials: { user: string; api_key: string };

beforeAll(async () => {
  broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
  ledger = new SqliteLedger(":memory:");
  coordinator = new MemoryCoordinator();
  hub = await startHub({
    port: 0,
    host: "127.0.0.1",
    broker: { broker: broker.hub },
    coordinator,
    ledger,
    policy: new DifficultyPolicy(BASE, 8),
    logger: pino({ level: "silent" }),
  });
  credentials = { user: "svc", api_key: (await addService(ledger, "svc", { rate: 0 })).apiKey };
  worker = await FakeWorker.connect(broker.port);
});

afterAll(async () => {
  await worker?.close();
  await hub?.close();
  await broker?.hub.close();
  await broker?.close();
  await ledger?.close();
});

async function post(body: unknown): Promise<Record<string, string>> {
  const response = await fetch(`http://127.0.0.1:${hub.port}/service/`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, string>;
}

async function results(outcome: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${hub.port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`dpow_results_total{outcome="${outcome}"} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function openJob(hash: string): Promise<Job> {
  for (;;) {
    const job = await coordinator.job(hash);
    if (job) return job;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("races between hub replicas", () => {
  it("a job claimed by a replica that died before crediting: the work a service gets is credited", async () => {
    const hash = randomHash();
    const answer = post({ ...credentials, hash });
    const job = await openJob(hash);
    // The other replica took the claim, then was SIGKILLed before its credit committed.
    expect(await coordinator.claimWin(job.id)).toBe(true);
    await worker.publishResult(hash, solve(hash, job.difficulty));
    const { work } = await answer;
    expect(workValue(parseHash(hash), parseU64(work, "work")) >= BASE).toBe(true);
    expect(await ledger.solvedWork(hash)).toMatchObject({ work: parseU64(work, "work") });
    expect(await ledger.workerCounters(worker.payout)).toEqual({ precache: 0, ondemand: 1 });
  });

  it("a job opened for a hash whose credited work is already held is not won again", async () => {
    const hash = randomHash();
    const answer = post({ ...credentials, hash });
    const first = await openJob(hash);
    await worker.publishResult(hash, solve(hash, first.difficulty));
    expect((await answer).hash).toBe(hash);
    const credited = await ledger.workerCounters(worker.payout);
    // A request that checked the cache a moment before that win opened a second job; a late
    // result of the first job arrives while it is open.
    const { job, created } = await coordinator.openJob({
      hash,
      type: "ondemand",
      difficulty: BASE,
      service: "svc",
      ttlMs: 10_000,
    });
    expect(created).toBe(true);
    // Judged late, not won: a win is counted before its credit commits, so a wrong win could
    // still move the counters after they were checked.
    const [winsBefore, lateBefore] = [await results("win"), await results("late")];
    await worker.publishResult(hash, solve(hash, job.difficulty));
    await until("the late result to be judged", async () => (await results("late")) === lateBefore + 1);
    expect(await results("win")).toBe(winsBefore);
    expect(await ledger.workerCounters(worker.payout)).toEqual(credited);
  });
});
