/**
 * End to end: the real `dpow server --precache` (built CLI) fed by the Nano node simulator's
 * WebSocket, two real CPU worker clients, and a wallet-like service making 1,000 blocks over 50
 * accounts (sends and receives), each with work from the hub, each accepted by the node only if
 * its work is valid. Blocks come in rounds, one per account, as a busy service's would; the hub
 * has a round's confirmations in hand before the next round asks.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workRoot } from "../../src/nano/block.js";
import { formatHash, formatU64, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { type RunningWorker, startWorker } from "../../src/worker/index.js";
import {
  buildBlock,
  type ChainStep,
  type KeyPair,
  NANO,
  NanoNodeSimulator,
  TEST_THRESHOLDS,
  thresholdFor,
} from "../fixtures/nano-node/index.js";
import { runCli } from "../helpers/cli.js";
import { newPayout } from "../helpers/fake-worker.js";
import { type HubProcess, spawnHub, tempDir } from "../helpers/hub-process.js";
import { waitFor } from "./harness.js";

const ACCOUNTS = 50;
const ROUNDS = 20;
const temp = tempDir();
const db = join(temp.dir, "hub.db");
let sim: NanoNodeSimulator;
let hub: HubProcess;
let service: { user: string; api_key: string };
const workers: RunningWorker[] = [];

beforeAll(async () => {
  sim = await NanoNodeSimulator.start({ funded: Array(ACCOUNTS).fill(1000n * NANO) });
  const added = runCli(["service", "add", "wallet", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  service = JSON.parse(added.stdout) as { user: string; api_key: string };
  hub = await spawnHub(db, [
    "--difficulty",
    formatU64(TEST_THRESHOLDS.send),
    "--precache",
    "--node-ws",
    sim.wsUrl,
  ]);
  for (let i = 0; i < 2; i++) {
    const worker = await startWorker({
      payout: newPayout(),
      server: `mqtt://client:client@127.0.0.1:${hub.mqttPort}`,
      backend: await createBackend("cpu", { threads: 1 }),
    });
    workers.push(worker);
    await waitFor("the worker to see the hub", () => worker.status().hubOnline);
  }
  await waitFor("the hub to subscribe to the node", () => sim.feed.subscriberCount() === 1);
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await hub?.stop();
  await sim?.close();
  temp.remove();
});

/** Sum of a metric's samples on the hub that carry every label given. */
async function metric(name: string, ...labels: string[]): Promise<number> {
  const text = await (await fetch(hub.url("/metrics"))).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const [sample, value] = line.split(" ");
    if (!sample || !value || !(sample === name || sample.startsWith(`${name}{`))) continue;
    if (labels.every((label) => sample.includes(label))) sum += Number(value);
  }
  return sum;
}

async function rpc(body: object): Promise<Record<string, unknown>> {
  const response = await fetch(sim.rpcUrl, { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

/** One block: work from the hub for the account's next root, then the node must accept it. */
async function makeBlock(key: KeyPair, step: ChainStep, tally: { invalid: number }): Promise<string> {
  const head = sim.head(key);
  const root = formatHash(workRoot({ account: key.address, previous: head.previous }));
  const receive = step.type === "receive";
  const threshold = thresholdFor(receive ? "receive" : "send", TEST_THRESHOLDS);
  const response = await fetch(hub.url("/service/"), {
    method: "POST",
    body: JSON.stringify({
      ...service,
      hash: root,
      account: key.address,
      ...(receive ? { difficulty: formatU64(threshold) } : {}),
    }),
  });
  const answer = (await response.json()) as { work?: string; error?: string };
  if (answer.work === undefined) throw new Error(`no work for ${root}: ${answer.error}`);
  if (workValue(Buffer.from(root, "hex"), parseU64(answer.work, "work")) < threshold) tally.invalid += 1;
  const block = buildBlock(head, step, TEST_THRESHOLDS, answer.work);
  const processed = await rpc({ action: "process", json_block: "true", block: block.block });
  if (processed.hash !== block.hash) tally.invalid += 1;
  return block.hash;
}

describe("precache end to end against the node simulator", () => {
  it("serves 1,000 blocks over 50 accounts with valid work, >= 95% of next blocks from precache", async () => {
    const keys = sim.funded;
    const tally = { invalid: 0 };
    let sends: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const receiving = round % 2 === 1;
      const made = await Promise.all(
        keys.map((key, i) => {
          const step: ChainStep = receiving
            ? { type: "receive", source: sends[(i + ACCOUNTS - 1) % ACCOUNTS] as string, amount: NANO }
            : { type: "send", to: (keys[(i + 1) % ACCOUNTS] as KeyPair).address, amount: NANO };
          return makeBlock(key, step, tally);
        }),
      );
      if (!receiving) sends = made;
      const blocks = (round + 1) * ACCOUNTS;
      await waitFor(
        `the hub to handle round ${round}'s confirmations and precache`,
        async () =>
          (await metric("dpow_precache_confirmations_total")) === blocks &&
          (await metric("dpow_open_jobs")) === 0,
        20_000,
      );
    }
    expect(tally.invalid).toBe(0);
    expect(await metric("dpow_precache_confirmations_total", 'outcome="precached"')).toBe(ROUNDS * ACCOUNTS);

    // The first block of each account cannot be precached (the hub has never seen the account).
    const nextBlocks = (ROUNDS - 1) * ACCOUNTS;
    let stats = { precache: 0, ondemand: 0 };
    await waitFor("the service's counters to be written", () => {
      const out = runCli(["service", "stats", "wallet", "--json", "--db", db]);
      stats = JSON.parse(out.stdout) as typeof stats;
      return stats.precache + stats.ondemand === ROUNDS * ACCOUNTS;
    });
    expect(stats.precache / nextBlocks).toBeGreaterThanOrEqual(0.95);
    console.log(
      `precache hits: ${stats.precache} of ${nextBlocks} next-block requests; on demand: ${stats.ondemand}`,
    );
  }, 120_000);
});
