import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";
import { DifficultyPolicy } from "../../src/hub/difficulty-policy.js";
import { type Hub, startHub } from "../../src/hub/hub.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { addService } from "../../src/hub/service-admin.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { FakeWorker, randomHash, solve } from "../helpers/fake-worker.js";

/**
 * Two hub replicas in one process sharing a broker, a coordinator and a ledger: the scale-out
 * shape, with the in-memory coordinator and an in-memory SQLite ledger. Each replica judges every
 * result; the first-result lock must let exactly one of them credit and cancel.
 */
const BASE = 0xf000000000000000n;
let broker: EmbeddedBroker;
let ledger: SqliteLedger;
let replicas: Hub[];
let worker: FakeWorker;
let credentials: { user: string; api_key: string };
const cancels: string[] = [];

beforeAll(async () => {
  broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
  ledger = new SqliteLedger(":memory:");
  const coordinator = new MemoryCoordinator();
  const logger = pino({ level: "silent" });
  replicas = await Promise.all(
    [0, 1].map(() =>
      startHub({
        port: 0,
        host: "127.0.0.1",
        broker: { broker: broker.hub },
        coordinator,
        ledger,
        policy: new DifficultyPolicy(BASE, 8),
        logger,
      }),
    ),
  );
  await broker.hub.subscribe("cancel/#", (_topic, payload) => cancels.push(payload.toString()));
  const added = await addService(ledger, "svc", { rate: 0 });
  credentials = { user: "svc", api_key: added.apiKey };
  worker = await FakeWorker.connect(broker.port);
});

afterAll(async () => {
  await worker?.close();
  for (const hub of replicas ?? []) await hub.close();
  await broker?.hub.close();
  await broker?.close();
  await ledger?.close();
});

async function post(hub: Hub, body: unknown): Promise<Record<string, string>> {
  const response = await fetch(`http://127.0.0.1:${hub.port}/service/`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  return (await response.json()) as Record<string, string>;
}

async function sample(hub: Hub, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${hub.port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("two hub replicas sharing coordinator and ledger", () => {
  it("share one job, both answer their requests, and exactly one credits and cancels", async () => {
    for (let round = 1; round <= 5; round++) {
      const hash = randomHash();
      const [a, b] = replicas as [Hub, Hub];
      const first = post(a, { ...credentials, hash });
      const job = await worker.waitForJob(hash);
      const second = post(b, { ...credentials, hash });
      await until("the second request to wait", async () => (await sample(b, "dpow_waiting_requests")) === 1);
      await worker.publishResult(hash, solve(hash, job.difficulty));
      for (const answer of await Promise.all([first, second])) {
        expect(answer.hash).toBe(hash);
        expect(workValue(parseHash(hash), parseU64(answer.work, "work")) >= BASE).toBe(true);
      }
      expect(worker.jobs.filter((j) => j.hash === hash)).toHaveLength(1);
      const results = async (outcome: string) =>
        (await sample(a, `dpow_results_total{outcome="${outcome}"}`)) +
        (await sample(b, `dpow_results_total{outcome="${outcome}"}`));
      await until(
        "both replicas to judge the result",
        async () => (await results("win")) + (await results("late")) === 2 * round,
      );
      expect(await results("win")).toBe(round);
      await worker.waitForCancel(hash);
      expect(cancels.filter((c) => c === hash)).toHaveLength(1);
      expect(await ledger.workerCounters(worker.payout)).toEqual({ precache: 0, ondemand: round });
    }
  });

  it("precaches: a precache job's result is credited as precache and answers later requests at once", async () => {
    const [a, b] = replicas as [Hub, Hub];
    const hash = randomHash();
    expect(await a.flow.precache(hash, BASE, 10_000)).toBe(true);
    expect(await b.flow.precache(hash, BASE, 10_000)).toBe(false);
    const job = await worker.waitForJob(hash);
    expect(job.type).toBe("precache");
    const before = await ledger.workerCounters(worker.payout);
    await worker.publishResult(hash, solve(hash, job.difficulty), "precache");
    await worker.waitForFeedback("precache reward", (f) => f.block_rewarded === hash);
    expect(await ledger.workerCounters(worker.payout)).toEqual({ ...before, precache: before.precache + 1 });
    const cacheBefore = await sample(b, 'dpow_requests_total{outcome="cache"}');
    expect((await post(b, { ...credentials, hash })).hash).toBe(hash);
    expect(await sample(b, 'dpow_requests_total{outcome="cache"}')).toBe(cacheBefore + 1);
    expect(await a.flow.precache(hash, BASE, 10_000)).toBe(false);
  });
});
