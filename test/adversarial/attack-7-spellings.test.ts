/**
 * Attack 7 of issue 10 (one account, two spellings), against the spawned `dpow server`: the
 * `xrb_` and `nano_` forms of one key are one worker, credited once and paid once; each spelling
 * still hears its feedback on the topic it subscribed to; and a connection dropped for invalid
 * results cannot come back by switching spelling (penalties never key on the payout address).
 */
import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { canonicalAddress } from "../../src/nano/account.js";
import { buildPlan } from "../../src/payouts/plan.js";
import { SqlitePayoutStore } from "../../src/payouts/sqlite-store.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, newPayout, randomHash, solve, solveBelow } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";

const temp = tempDir();
let hub: HubProcess;
let db: string;
let ledger: SqliteLedger;
let credentials: { user: string; api_key: string };
const workers: FakeWorker[] = [];

async function worker(payout: string, clientId?: string): Promise<FakeWorker> {
  const w = await FakeWorker.connect(hub.mqttPort, { payout, ...(clientId ? { clientId } : {}) });
  workers.push(w);
  return w;
}

/** One request, won by `w` with valid work. */
async function win(w: FakeWorker): Promise<string> {
  const hash = randomHash();
  const answer = postWork(hub, { ...credentials, hash });
  const job = await w.waitForJob(hash);
  await w.publishResult(hash, solve(hash, job.difficulty));
  expect((await answer).status).toBe(200);
  return hash;
}

beforeAll(async () => {
  db = join(temp.dir, "hub.db");
  const added = runCli(["service", "add", "svc", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  hub = await spawnHub(db, ["--penalty-threshold", "5"]);
  ledger = new SqliteLedger(db);
});

afterAll(async () => {
  for (const w of workers) await w.close();
  await hub?.stop();
  await ledger?.close();
  temp.remove();
});

describe("attack 7: xrb_ and nano_ spellings of one key", () => {
  it("are one worker: credited together, told on the topic each subscribed to, paid once", async () => {
    const nano = newPayout();
    const xrb = `xrb_${nano.slice("nano_".length)}`;
    expect(canonicalAddress(xrb)).toBe(nano);
    const [asNano, asXrb] = [await worker(nano), await worker(xrb)];
    const first = await win(asNano);
    await asNano.waitForFeedback("reward", (f) => f.block_rewarded === first);
    const second = await win(asXrb);
    // The xrb_ spelling hears on client/xrb_…, with the counters of the one worker.
    const told = await asXrb.waitForFeedback("reward", (f) => f.block_rewarded === second);
    expect(told).toMatchObject({ ondemand: 2 });
    expect(await ledger.workerCounters(nano)).toEqual({ precache: 0, ondemand: 2 });
    expect(await ledger.workerCounters(xrb)).toEqual({ precache: 0, ondemand: 0 });

    const store = new SqlitePayoutStore(db);
    try {
      const plan = buildPlan(await store.unpaidWork(), { budget: 1000n, minWorks: 1, exclude: [] });
      expect(plan.items.filter((i) => i.worker.endsWith(nano.slice(5)))).toEqual([
        expect.objectContaining({ worker: nano, ondemand: 2 }),
      ]);
    } finally {
      await store.close();
    }
  });

  it("give a dropped connection no way back: its client id stays refused whatever address it names", async () => {
    const nano = newPayout();
    const xrb = `xrb_${nano.slice("nano_".length)}`;
    const clientId = `spelling-${randomHash().slice(0, 8)}`;
    const cheat = await worker(nano, clientId);
    const hash = randomHash();
    const answer = postWork(hub, { ...credentials, hash, timeout: 10 });
    const job = await cheat.waitForJob(hash);
    const dropped = new Promise<void>((resolve) => cheat.client.once("close", () => resolve()));
    for (let i = 0; i < 5; i++) await cheat.publishResult(hash, solveBelow(hash, job.difficulty));
    await dropped;
    // Back under the other spelling, same client id: refused at login.
    await expect(
      mqtt.connectAsync(
        `mqtt://127.0.0.1:${hub.mqttPort}`,
        { username: "client", password: "client", clientId, reconnectPeriod: 0 },
        false,
      ),
    ).rejects.toThrow();
    // An honest worker under either spelling of that key was never charged, and is credited.
    const honest = await worker(xrb);
    await honest.publishResult(hash, solve(hash, job.difficulty));
    expect((await answer).status).toBe(200);
    await honest.waitForFeedback("reward", (f) => f.block_rewarded === hash);
    expect(await ledger.workerCounters(nano)).toEqual({ precache: 0, ondemand: 1 });
  });
});
