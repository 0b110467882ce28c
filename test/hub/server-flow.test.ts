import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { fromMultiplier } from "../../src/nano/difficulty.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash, solve, solveBelow } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
  waitForMetric,
  waitForValue,
} from "../helpers/hub-process.js";

const BASE = parseU64(TEST_DIFFICULTY, "base");
const WAITING = "dpow_waiting_requests";
const results = (outcome: string) => `dpow_results_total{outcome="${outcome}"}`;
/** Results judged and not credited: late, or late but better than the work held (kept, not credited). */
const uncredited = async () =>
  (await metric(hub, results("late"))) + (await metric(hub, results("improved")));

let hub: HubProcess;
let ledger: SqliteLedger;
let credentials: { user: string; api_key: string };
let other: { user: string; api_key: string };
const temp = tempDir();
const workers: FakeWorker[] = [];

async function worker(options: { auto?: boolean } = {}): Promise<FakeWorker> {
  const w = await FakeWorker.connect(hub.mqttPort, options);
  workers.push(w);
  return w;
}

function addService(name: string): { user: string; api_key: string } {
  const added = runCli(["service", "add", name, "--rate", "0", "--db", join(temp.dir, "hub.db"), "--json"]);
  expect(added.status, added.stderr).toBe(0);
  return JSON.parse(added.stdout) as { user: string; api_key: string };
}

function expectValid(json: Record<string, unknown>, hash: string, threshold: bigint): void {
  expect(json.error).toBeUndefined();
  expect(json.hash).toBe(hash);
  const value = workValue(parseHash(hash), parseU64(json.work, "work"));
  expect(value >= threshold).toBe(true);
  expect(json.difficulty).toBe(value.toString(16).padStart(16, "0"));
}

beforeAll(async () => {
  credentials = addService("flow");
  other = addService("other");
  hub = await spawnHub(join(temp.dir, "hub.db"));
  ledger = new SqliteLedger(join(temp.dir, "hub.db"));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await ledger?.close();
  await hub?.stop();
  temp.remove();
});

describe("dpow server: on-demand work with real MQTT workers", () => {
  it("credits exactly one of two racing workers, every round", async () => {
    const [a, b] = [await worker(), await worker()];
    const rounds = 8;
    const winsBefore = await metric(hub, results("win"));
    const lateBefore = await uncredited();
    for (let round = 0; round < rounds; round++) {
      const hash = randomHash();
      const answer = postWork(hub, { ...credentials, hash });
      const [jobA, jobB] = await Promise.all([a.waitForJob(hash), b.waitForJob(hash)]);
      // Both publish at once; the hub's first-result lock must pick one.
      await Promise.all([
        a.publishResult(hash, solve(hash, jobA.difficulty)),
        b.publishResult(hash, solve(hash, jobB.difficulty)),
      ]);
      expectValid((await answer).json, hash, BASE);
    }
    // Every result judged: one win and one late result per round.
    await waitForValue("uncredited results", uncredited, (late) => late === lateBefore + rounds);
    expect(await metric(hub, results("win"))).toBe(winsBefore + rounds);
    const [ca, cb] = [await ledger.workerCounters(a.payout), await ledger.workerCounters(b.payout)];
    expect(ca.ondemand + cb.ondemand).toBe(rounds);
    await waitForValue(
      "rewards",
      async () => a.feedback.length + b.feedback.length,
      (n) => n === rounds,
    );
    const rewarded = [...a.feedback, ...b.feedback].filter((f) => f.block_rewarded !== undefined);
    expect(rewarded).toHaveLength(rounds);
  });

  it("publishes the winner's counters on client/ADDRESS and cancels the job", async () => {
    const w = await worker();
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash, id: "x" });
    const job = await w.waitForJob(hash);
    expect(job.difficulty).toBe(BASE);
    await w.publishResult(hash, solve(hash, job.difficulty));
    expect((await answer).json.id).toBe("x");
    const feedback = await w.waitForFeedback("reward", (f) => f.block_rewarded === hash);
    // `share` (this hub's addition): the worker's part of the payout period, other tests' wins included.
    expect(feedback).toEqual({ precache: 0, ondemand: 1, block_rewarded: hash, share: expect.any(Number) });
    expect(feedback.share as number).toBeGreaterThan(0);
    expect(feedback.share as number).toBeLessThanOrEqual(1);
    await w.waitForCancel(hash);
  });

  it("ignores invalid work, counts it, and answers with the next valid result", async () => {
    const [cheat, honest] = [await worker(), await worker()];
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash });
    const job = await cheat.waitForJob(hash);
    const invalidBefore = await metric(hub, results("invalid"));
    await cheat.publishResult(hash, solveBelow(hash, job.difficulty));
    await waitForMetric(hub, results("invalid"), (v) => v === invalidBefore + 1);
    await honest.publishResult(hash, solve(hash, job.difficulty));
    expectValid((await answer).json, hash, BASE);
    expect((await ledger.workerCounters(cheat.payout)).ondemand).toBe(0);
  });

  it("drops a connection after too many invalid results and refuses its client id; the payout address it names pays nothing", async () => {
    const [cheat, honest] = [await worker(), await worker()];
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash, timeout: 10 });
    const job = await cheat.waitForJob(hash);
    const clientId = cheat.client.options.clientId as string;
    const dropped = new Promise<void>((resolve) => cheat.client.once("close", () => resolve()));
    // Every invalid result names the honest worker's payout address: charging it would frame it.
    for (let i = 0; i < 20; i++) {
      await cheat.publishResult(hash, solveBelow(hash, job.difficulty), "ondemand", honest.payout);
    }
    await dropped;
    const warning = await hub.waitForLog("the drop", (l) => l.clientId === clientId);
    expect(warning.msg).toMatch(/too many invalid results/);
    // The same client id from the same address is refused for the cool-down; another id is not.
    const login = { username: "client", password: "client", reconnectPeriod: 0 };
    const url = `mqtt://127.0.0.1:${hub.mqttPort}`;
    await expect(mqtt.connectAsync(url, { ...login, clientId }, false)).rejects.toThrow();
    const fresh = await mqtt.connectAsync(url, login, false);
    await fresh.endAsync();
    // The honest worker, named in all of it, is heard and credited.
    await honest.publishResult(hash, solve(hash, job.difficulty));
    expectValid((await answer).json, hash, BASE);
    expect((await ledger.workerCounters(honest.payout)).ondemand).toBe(1);
    expect(hub.logs.filter((l) => l.clientId === clientId)).toHaveLength(1);
  });

  it("answers a timeout, keeps the job open for a retry, and credits a result that comes later", async () => {
    const w = await worker();
    const hash = randomHash();
    const first = await postWork(hub, { ...credentials, hash, timeout: 1, id: 7 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ timeout: true, id: 7 });
    expect(first.json.error).toMatch(/^Timeout reached without work: /);
    // The retry joins the open job: no second broadcast.
    const retry = postWork(hub, { ...credentials, hash, timeout: 5 });
    await waitForMetric(hub, WAITING, (v) => v === 1);
    const job = w.jobs.find((j) => j.hash === hash) as NonNullable<(typeof w.jobs)[0]>;
    await w.publishResult(hash, solve(hash, job.difficulty));
    expectValid((await retry).json, hash, BASE);
    expect(w.jobs.filter((j) => j.hash === hash)).toHaveLength(1);
    await w.waitForFeedback("reward", (f) => f.block_rewarded === hash);
  });

  it("drops late, duplicate and unknown results without crediting", async () => {
    const w = await worker();
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash });
    const job = await w.waitForJob(hash);
    const work = solve(hash, job.difficulty);
    await w.publishResult(hash, work);
    await answer;
    await w.waitForFeedback("reward", (f) => f.block_rewarded === hash);
    const lateBefore = await uncredited();
    await w.publishResult(hash, work); // duplicate
    await w.publishResult(hash, solve(hash, job.difficulty)); // late
    const unknown = randomHash();
    await w.publishResult(unknown, solve(unknown, BASE)); // never asked for
    await waitForValue("uncredited results", uncredited, (v) => v === lateBefore + 3);
    expect(await ledger.workerCounters(w.payout)).toEqual({ precache: 0, ondemand: 1 });
  });

  it("shares one job between two services asking for the same hash", async () => {
    const w = await worker();
    const hash = randomHash();
    const first = postWork(hub, { ...credentials, hash });
    await w.waitForJob(hash);
    const second = postWork(hub, { ...other, hash: hash.toLowerCase() });
    await waitForMetric(hub, WAITING, (v) => v === 2);
    const job = w.jobs.find((j) => j.hash === hash) as NonNullable<(typeof w.jobs)[0]>;
    await Promise.all([first, second, w.publishResult(hash, solve(hash, job.difficulty))]).then(([a, b]) => {
      expectValid(a.json, hash, BASE);
      expectValid(b.json, hash, BASE);
      expect(a.json.work).toBe(b.json.work);
    });
    expect(w.jobs.filter((j) => j.hash === hash)).toHaveLength(1);
  });

  it("never answers a harder request with the easier work of an open job", async () => {
    const w = await worker();
    const hash = randomHash();
    const hard = fromMultiplier(4, BASE);
    const easy = postWork(hub, { ...credentials, hash, timeout: 10 });
    await w.waitForJob(hash);
    const harder = postWork(hub, { ...credentials, hash, multiplier: 4, timeout: 10 });
    const raised = await w.waitForJob(hash, 2);
    expect(raised.difficulty).toBe(hard);
    // Work good for the first request only: it answers that one, not the harder one.
    await w.publishResult(hash, solveBelow(hash, hard, BASE));
    expectValid((await easy).json, hash, BASE);
    await w.publishResult(hash, solve(hash, hard));
    expectValid((await harder).json, hash, hard);
  });

  it("answers from the cache at or below the solved difficulty, and broadcasts above it", async () => {
    const w = await worker();
    const hash = randomHash();
    const [twice, fourTimes] = [fromMultiplier(2, BASE), fromMultiplier(4, BASE)];
    const pending = postWork(hub, { ...credentials, hash, multiplier: 2 });
    await w.waitForJob(hash);
    // Work between 2x and 4x the base: enough for this request, not for a 4x one.
    await w.publishResult(hash, solveBelow(hash, fourTimes, twice));
    const solved = (await pending).json;
    expectValid(solved, hash, twice);
    const cacheBefore = await metric(hub, 'dpow_requests_total{outcome="cache"}');
    for (const body of [{ multiplier: 2 }, {}, { difficulty: solved.difficulty }, { multiplier: 0.5 }]) {
      const again = await postWork(hub, { ...credentials, hash, ...body });
      expect(again.json.work).toBe(solved.work);
    }
    expect(await metric(hub, 'dpow_requests_total{outcome="cache"}')).toBe(cacheBefore + 4);
    expect(w.jobs.filter((j) => j.hash === hash)).toHaveLength(1);

    const harder = postWork(hub, { ...credentials, hash, multiplier: 4 });
    const job = await w.waitForJob(hash, 2);
    expect(job.difficulty).toBe(fourTimes);
    await w.publishResult(hash, solve(hash, fourTimes));
    expectValid((await harder).json, hash, fourTimes);
  });

  it("survives garbage on every result topic, and answers valid work from an invalid payout address", async () => {
    const garbageBefore = await metric(hub, results("garbage"));
    const hash = randomHash();
    const payloads: Array<string | Buffer> = [
      "",
      "garbage",
      ",,",
      `${hash},zz,nano_x`,
      `${hash.slice(2)},0000000000000000,nano_x`,
      `${hash},0000000000000000,nano_x,extra`,
      `${hash},0000000000000000,bad/address`,
      "x".repeat(10_000),
      Buffer.from([0xff, 0xfe, 0x00, 0x81]),
      "\u{1F4A9},\u{1F4A9},\u{1F4A9}",
    ];
    // One connection per topic: each stays under the penalty threshold (20).
    for (const topic of ["result/ondemand", "result/precache", "result/other", "result/ondemand/deeper"]) {
      const w = await worker();
      for (const payload of payloads) await w.publishRaw(topic, payload);
    }
    const expected = payloads.length * 4;
    await waitForMetric(hub, results("garbage"), (v) => v === garbageBefore + expected);

    const bad = await FakeWorker.connect(hub.mqttPort, { payout: "nano_1111" });
    workers.push(bad);
    const answer = postWork(hub, { ...credentials, hash });
    const job = await bad.waitForJob(hash);
    const work = solve(hash, job.difficulty);
    await bad.publishResult(hash, work);
    // The service gets the work, the job is cancelled, nobody is credited, and the sender is told.
    expectValid((await answer).json, hash, BASE);
    expect((await answer).json.work).toBe(work.toString(16).padStart(16, "0"));
    await bad.waitForCancel(hash);
    const error = await bad.waitForFeedback("address error", (f) => typeof f.error === "string");
    expect(error).toEqual({ error: "Work accepted but account nano_1111 is invalid" });
    expect(await ledger.workerCounters("nano_1111")).toEqual({ precache: 0, ondemand: 0 });
    expect((await fetch(hub.url("/upcheck/"))).status).toBe(200);
  });
});
