/**
 * Valid work naming an invalid payout address (issue 11), against the spawned `dpow server`: the
 * services are answered, the job is closed and cancelled, nobody is credited, and the sender is
 * told on `client/ADDRESS` in the original hub's words. And nothing else makes the hub publish on
 * a `client/` topic: an observer of `client/#` sees no message for a result that is not valid work
 * for an open job, nor for an address that could not be one topic level.
 */
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { formatU64 } from "../../src/nano/hex.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash, solve, solveBelow } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir, waitForValue } from "../helpers/hub-process.js";

const MISTYPED = "nano_1111";

const temp = tempDir();
let hub: HubProcess;
let ledger: SqliteLedger;
let credentials: { user: string; api_key: string };
let observer: MqttClient;
/** Every `client/` message the observer saw, as "topic payload". */
const seen: string[] = [];
const workers: FakeWorker[] = [];

async function worker(payout?: string): Promise<FakeWorker> {
  const w = await FakeWorker.connect(hub.mqttPort, payout ? { payout } : {});
  workers.push(w);
  return w;
}

beforeAll(async () => {
  const db = join(temp.dir, "hub.db");
  const added = runCli(["service", "add", "svc", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  hub = await spawnHub(db);
  ledger = new SqliteLedger(db);
  observer = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, {
    username: "client",
    password: "client",
    reconnectPeriod: 0,
  });
  observer.on("message", (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
  await observer.subscribeAsync("client/#");
});

afterAll(async () => {
  await observer?.endAsync(true);
  for (const w of workers) await w.close();
  await hub?.stop();
  await ledger?.close();
  temp.remove();
});

describe("a result naming an invalid payout address", () => {
  it("with valid work for an open job: answers the service, cancels, credits nobody, tells client/ADDRESS", async () => {
    const mistyped = await worker(MISTYPED);
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash });
    const job = await mistyped.waitForJob(hash);
    const work = solve(hash, job.difficulty);
    await mistyped.publishResult(hash, work);
    const { status, json } = await answer;
    expect(status).toBe(200);
    expect(json.work).toBe(formatU64(work));
    await mistyped.waitForCancel(hash);
    const told = await mistyped.waitForFeedback("the error", (f) => f.error !== undefined);
    expect(told).toEqual({ error: `Work accepted but account ${MISTYPED} is invalid` });
    expect(await ledger.workerCounters(MISTYPED)).toEqual({ precache: 0, ondemand: 0 });
  });

  it("makes the hub publish on client/ for nothing else", async () => {
    const sender = await worker();
    const honest = await worker();
    const before = seen.length;

    // Invalid work for an open job, naming an address of the sender's choice.
    const open = randomHash();
    const answer = postWork(hub, { ...credentials, hash: open, timeout: 10 });
    const job = await sender.waitForJob(open);
    await sender.publishResult(open, solveBelow(open, job.difficulty), "ondemand", "nano_chosen_topic");
    // Valid work, but for no job at all.
    const unknown = randomHash();
    await sender.publishResult(unknown, solve(unknown, job.difficulty), "ondemand", "nano_unknown_job");
    // Valid work for the open job, naming addresses that are no single topic level: dropped unread.
    for (const address of ["nano_a/b", "nano_#", "nano_+", `nano_${"x".repeat(150)}`]) {
      await sender.publishRaw(
        "result/ondemand",
        `${open},${formatU64(solve(open, job.difficulty))},${address}`,
      );
    }
    // The honest win: its feedback is the marker that every result before it was judged.
    await honest.publishResult(open, solve(open, job.difficulty));
    expect((await answer).status).toBe(200);
    await honest.waitForFeedback("reward", (f) => f.block_rewarded === open);
    // Valid work for the job just closed, naming an invalid address.
    await sender.publishResult(open, solve(open, job.difficulty), "ondemand", "nano_late");
    const marker = randomHash();
    const second = postWork(hub, { ...credentials, hash: marker });
    const next = await honest.waitForJob(marker);
    await honest.publishResult(marker, solve(marker, next.difficulty));
    expect((await second).status).toBe(200);
    await honest.waitForFeedback("reward", (f) => f.block_rewarded === marker);

    await waitForValue(
      "the observer's copy of the marker",
      async () => seen.filter((m) => m.includes(marker)).length,
      (n) => n === 1,
    );
    const published = seen.slice(before).map((m) => m.split(" ")[0]);
    expect(published).toEqual([`client/${honest.payout}`, `client/${honest.payout}`]);
  });
});
