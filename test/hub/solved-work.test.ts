import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { addService } from "../../src/hub/service-admin.js";
import { formatU64, parseU64 } from "../../src/nano/hex.js";
import { FakeWorker, newPayout, randomHash, solve, solveBelow } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
} from "../helpers/hub-process.js";

/**
 * A hub that recorded a win and died before answering: its work cache died with it, but the ledger
 * holds the win. A service retrying that hash on the restarted hub must get the recorded work from
 * the ledger, with no new job broadcast and no second worker paid. The win is written into the
 * database directly (the state such a crash leaves), then the hub starts on it.
 */
const BASE = parseU64(TEST_DIFFICULTY, "difficulty");
/** The hub's top difficulty with its default --max-multiplier 8. */
const MAX = (1n << 64n) - ((1n << 64n) - BASE) / 8n;

const temp = tempDir();
const db = join(temp.dir, "hub.db");
const firstWinner = newPayout();
const solvedHash = randomHash();
const solvedWork = solve(solvedHash, BASE);
/** Solved below what a request at MAX asks: the ledger's work must not be handed out for it. */
const weakHash = randomHash();
const weakWork = solveBelow(weakHash, MAX, BASE);
let credentials: { user: string; api_key: string };
let hub: HubProcess;
let worker: FakeWorker;

beforeAll(async () => {
  const ledger = new SqliteLedger(db);
  const { apiKey } = await addService(ledger, "svc", { rate: 0 });
  credentials = { user: "svc", api_key: apiKey };
  for (const [i, [hash, work]] of [
    [solvedHash, solvedWork],
    [weakHash, weakWork],
  ].entries()) {
    await ledger.recordWin({
      jobId: `before-the-crash-${i}`,
      hash: hash as string,
      type: "ondemand",
      worker: firstWinner,
      service: "svc",
      difficulty: BASE,
      work: work as bigint,
      at: Date.now(),
    });
  }
  await ledger.close();
  hub = await spawnHub(db);
  worker = await FakeWorker.connect(hub.mqttPort);
});

afterAll(async () => {
  await worker?.close();
  await hub?.stop();
  temp.remove();
});

/** Jobs broadcast so far for `hash`, once a later job proves every earlier broadcast has arrived. */
async function jobsFor(hash: string): Promise<number> {
  const marker = randomHash();
  const marked = postWork(hub, { ...credentials, hash: marker, timeout: 5 });
  const job = await worker.waitForJob(marker);
  await worker.publishResult(marker, solve(marker, job.difficulty));
  expect((await marked).json.hash).toBe(marker);
  return worker.jobs.filter((j) => j.hash === hash).length;
}

describe("work a win recorded before a crash", () => {
  it("answers a retry from the ledger: no new job, no second credit", async () => {
    const reply = await postWork(hub, { ...credentials, hash: solvedHash });
    expect(reply.json).toMatchObject({ hash: solvedHash, work: formatU64(solvedWork) });
    expect(await metric(hub, 'dpow_requests_total{outcome="cache"}')).toBe(1);
    expect(await jobsFor(solvedHash)).toBe(0);
    const ledger = new SqliteLedger(db);
    try {
      expect(await ledger.workerCounters(firstWinner)).toEqual({ precache: 0, ondemand: 2 });
      expect(await ledger.workerCounters(worker.payout)).toEqual({ precache: 0, ondemand: 1 });
    } finally {
      await ledger.close();
    }
  });

  it("broadcasts a job when the recorded work does not reach the difficulty asked", async () => {
    const reply = postWork(hub, { ...credentials, hash: weakHash, difficulty: formatU64(MAX) });
    const job = await worker.waitForJob(weakHash);
    expect(job.difficulty).toBe(MAX);
    const stronger = solve(weakHash, MAX);
    await worker.publishResult(weakHash, stronger);
    expect((await reply).json).toMatchObject({ hash: weakHash, work: formatU64(stronger) });
  });
});
