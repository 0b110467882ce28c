import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { SqlitePayoutStore } from "../../src/payouts/sqlite-store.js";
import {
  type ChainStep,
  type KeyPair,
  makeChain,
  NANO,
  NanoNodeSimulator,
  TEST_THRESHOLDS,
} from "../fixtures/nano-node/index.js";
import { address, runCli, seedWins } from "./cli-helpers.js";

const WORKERS = 8;
const BUDGET = 10n * NANO + 7n;
/** SIGKILLs per crash test (each costs a CLI start, about 0.3 s). */
const KILLS = 6;

let dir: string;
let db: string;
let sim: NanoNodeSimulator;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "dpow-payouts-cli-"));
  db = join(dir, "dpow.db");
  await seedWins(db, WORKERS);
  sim = await NanoNodeSimulator.start({ funded: [20n * NANO, 5n * NANO] });
});
afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

interface PlanDocument {
  id: string;
  total: string;
  payments: Array<{ worker: string; amount: string }>;
  skipped: Array<{ worker: string; reason: string }>;
}

async function makePlan(budget = BUDGET): Promise<{ file: string; plan: PlanDocument }> {
  const file = join(dir, "plan.json");
  const result = await runCli(planArgs("--budget", budget.toString(), "--out", file, "--json"));
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return { file, plan: JSON.parse(result.stdout) };
}

/** `dpow payouts plan` over the test database, then `options`. */
function planArgs(...options: string[]): string[] {
  return ["payouts", "plan", "--db", db, ...options];
}

/** `dpow payouts run FILE` against the test database and simulated node, then `options`. */
function runArgs(file: string, ...options: string[]): string[] {
  return ["payouts", "run", file, "--db", db, "--node", sim.rpcUrl, ...options];
}

/** The simulator's `index`-th funded account. */
function funded(index = 0): KeyPair {
  const account = sim.funded[index];
  if (!account) throw new Error(`no funded account ${index}`);
  return account;
}

/** Options paying from `source` through a node wallet that holds its key. */
function walletOptions(source: KeyPair): string[] {
  return ["--wallet", sim.createWallet([source]), "--source", source.address];
}

/** Writes `source`'s secret key as hex to a private file, for `--key-file`. */
function writeKeyFile(source: KeyPair): string {
  const keyFile = join(dir, "key");
  writeFileSync(keyFile, Buffer.from(source.secretKey).toString("hex"), { mode: 0o600 });
  return keyFile;
}

/** Signs `step` on top of `key`'s chain and submits it to the simulated node; returns its hash. */
function submitNext(key: KeyPair, step: ChainStep): string {
  const [block] = makeChain(sim.head(key), [step], TEST_THRESHOLDS);
  if (!block) throw new Error("no block");
  sim.submit(block.block);
  return block.hash;
}

/** Every send the source made since the simulator started, by destination. */
function sendsFrom(source: string): Map<string, bigint[]> {
  const sends = new Map<string, bigint[]>();
  for (const b of sim.ledger.blocks.values()) {
    if (b.block.account !== source || b.subtype !== "send" || b.height === 1) continue;
    sends.set(b.block.link_as_account, [...(sends.get(b.block.link_as_account) ?? []), b.amount]);
  }
  return sends;
}

async function expectPaidExactlyOnce(plan: PlanDocument, source: string): Promise<void> {
  const sends = sendsFrom(source);
  expect(sends.size).toBe(plan.payments.length);
  for (const p of plan.payments) expect(sends.get(p.worker)).toEqual([BigInt(p.amount)]);
  const paid = [...sends.values()].flat().reduce((a, b) => a + b, 0n);
  expect(paid <= BUDGET).toBe(true);
  expect(paid).toBe(BigInt(plan.total));
  const store = new SqlitePayoutStore(db);
  const stored = await store.plan(plan.id);
  await store.close();
  expect(stored?.status).toBe("complete");
  for (const item of stored?.items ?? []) {
    expect(sim.ledger.blocks.get(item.blockHash ?? "")?.block.link_as_account).toBe(item.worker);
  }
}

/** A small deterministic generator, so a failing kill sequence can be replayed from its seed. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

async function paidCount(planId: string): Promise<number> {
  const store = new SqlitePayoutStore(db);
  const plan = await store.plan(planId);
  await store.close();
  return plan?.items.filter((i) => i.status === "paid").length ?? 0;
}

/**
 * Re-runs `args` until it completes, SIGKILLing the first `kills` runs at a random RPC request
 * (the k-th, k within the requests the run still has to make, so every planned kill happens).
 * Half the time the node still handles that request (the answer is lost), half the time not.
 */
async function killUntilDone(args: string[], planId: string, kills: number, seed: number): Promise<void> {
  const random = lcg(seed);
  for (let run = 1; run <= kills; run++) {
    const remaining = WORKERS - (await paidCount(planId));
    const target = 1 + random(remaining + 1);
    const flavour = random(2) === 0 ? "drop" : undefined;
    let child: ChildProcess | undefined;
    let seen = 0;
    sim.onRequest = () => {
      if (++seen !== target) return undefined;
      child?.kill("SIGKILL");
      return flavour;
    };
    const result = await runCli(args, (c) => {
      child = c;
    });
    expect(result.signal, `run ${run} (seed ${seed}): ${result.stderr}`).toBe("SIGKILL");
  }
  sim.onRequest = undefined;
  const last = await runCli(args);
  expect(last.stderr.replace(/^\[.*\n/gm, ""), `seed ${seed}`).toBe("");
  expect(last.code).toBe(0);
}

describe("dpow payouts run survives SIGKILL at random points", () => {
  it("wallet mode: every worker paid its share exactly once", async () => {
    const source = funded();
    const { file, plan } = await makePlan();
    expect(plan.payments).toHaveLength(WORKERS);
    expect(plan.skipped.map((s) => s.worker)).toEqual(["nano_1thisisnotavalidaddress"]);
    const seed = Date.now() % 100_000;
    const args = runArgs(file, ...walletOptions(source), "--yes");
    await killUntilDone(args, plan.id, KILLS, seed);
    await expectPaidExactlyOnce(plan, source.address);
    const again = await runCli([...args, "--json"]);
    expect(JSON.parse(again.stdout).outcome).toBe("already-complete");
    await expectPaidExactlyOnce(plan, source.address);
  });

  it("key mode: every worker paid its share exactly once", async () => {
    const source = funded();
    const keyFile = writeKeyFile(source);
    const { file, plan } = await makePlan();
    const seed = Date.now() % 100_000;
    const difficulty = TEST_THRESHOLDS.send.toString(16);
    const args = runArgs(file, "--key-file", keyFile, "--difficulty", difficulty, "--yes");
    await killUntilDone(args, plan.id, KILLS, seed);
    await expectPaidExactlyOnce(plan, source.address);
  });
});

describe("dpow payouts run: node failures stop cleanly and resume", () => {
  it("wallet mode: a send whose answer was lost is not paid twice; another payer is refused", async () => {
    const source = funded();
    const { file, plan } = await makePlan();
    const args = runArgs(file, "--yes");
    const walletArgs = [...args, ...walletOptions(source)];
    sim.faults.push({ action: "send", mode: "drop-after" });
    const lost = await runCli(walletArgs);
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/no answer from the node .*run the same command again to resume/);
    const switched = await runCli([...args, "--key-file", writeKeyFile(source)]);
    expect(switched.code).toBe(1);
    expect(switched.stderr).toMatch(/is being paid by wallet .*resume it with the same options/);
    const done = await runCli(walletArgs);
    expect(done.stdout).toMatch(/paid in full/);
    await expectPaidExactlyOnce(plan, source.address);
  });

  it("key mode: a block whose process answer was lost is republished, not re-signed", async () => {
    const source = funded();
    const keyFile = writeKeyFile(source);
    const { file, plan } = await makePlan();
    const args = runArgs(
      file,
      "--yes",
      "--key-file",
      keyFile,
      "--difficulty",
      TEST_THRESHOLDS.send.toString(16),
    );
    sim.faults.push({ action: "process", mode: "drop-after" });
    const lost = await runCli(args);
    expect(lost.code).toBe(1);
    const processCalls = () => sim.requests.filter((r) => r.action === "process");
    const before = processCalls();
    const done = await runCli(args);
    expect(done.stderr.replace(/^\[.*\n/gm, "")).toBe("");
    expect(done.stdout).toMatch(/paid in full/);
    // The resumed run republished the saved block first (answered "Old block"), then paid the rest.
    const after = processCalls().slice(before.length);
    expect(after).toHaveLength(WORKERS);
    expect(after[0]?.block).toEqual(before.at(-1)?.block);
    await expectPaidExactlyOnce(plan, source.address);
  });

  it("insufficient balance stops before paying; after a top-up the same command finishes", async () => {
    const poor = funded(1);
    const genesis = sim.genesis;
    const { file, plan } = await makePlan();
    const args = runArgs(file, ...walletOptions(poor), "--yes");
    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^dpow: insufficient balance: .* holds 5000000000000000000000000000000 raw but the plan still needs/,
    );
    expect(sendsFrom(poor.address).size).toBe(0);
    const topUp = submitNext(genesis, { type: "send", to: poor.address, amount: 10n * NANO });
    submitNext(poor, { type: "receive", source: topUp, amount: 10n * NANO });
    const paid = await runCli(args);
    expect(paid.code).toBe(0);
    await expectPaidExactlyOnce(plan, poor.address);
  });

  it("an unreachable node is a one-line error; bad options are refused", async () => {
    const { file } = await makePlan();
    await sim.close();
    const down = await runCli(runArgs(file, "--wallet", "00", "--source", funded().address, "--yes"));
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^dpow: no answer from the node at http:\/\/127\.0\.0\.1:\d+ to account_balance \(ECONNREFUSED\)\. Check --node;/,
    );
    const both = await runCli(runArgs(file, "--yes"));
    expect(both.stderr).toMatch(/give either --wallet/);
    sim = await NanoNodeSimulator.start();
  });
});

describe("dpow payouts run: worker notifications", () => {
  it("on completion each paid worker hears its snapshot counters on client/ADDRESS", async () => {
    const broker = await startEmbeddedBroker({
      mqttPort: 0,
      host: "127.0.0.1",
      serverPassword: "srv",
      interfacePassword: "iface",
    });
    const observer = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: "dpowinterface",
      password: "iface",
    });
    const heard = new Map<string, Record<string, number>>();
    observer.on("message", (topic, payload) =>
      heard.set(topic.slice("client/".length), JSON.parse(String(payload))),
    );
    await observer.subscribeAsync("client/#", { qos: 1 });
    try {
      const { file, plan } = await makePlan();
      const mqttUrl = `mqtt://dpowserver:srv@127.0.0.1:${broker.port}`;
      const result = await runCli(runArgs(file, ...walletOptions(funded()), "--yes", "--mqtt-url", mqttUrl));
      expect(result.stdout).toMatch(`${WORKERS} workers notified`);
      // On both spellings of each address: a worker may listen on its xrb_ one.
      await vi.waitFor(() => expect(heard.size).toBe(2 * WORKERS), { timeout: 20_000 });
      // Worker i won i+1 jobs, alternately ondemand and precache (see seedWins).
      const last = plan.payments.find((p) => p.worker === address(WORKERS + 9));
      expect(heard.get(last?.worker ?? "")).toEqual({
        precache: 4,
        ondemand: 4,
        snapshot_precache: 4,
        snapshot_ondemand: 4,
      });
      expect(heard.get(`xrb_${last?.worker.slice("nano_".length)}`)).toEqual(heard.get(last?.worker ?? ""));
    } finally {
      await observer.endAsync();
      await broker.close();
    }
  });
});

describe("dpow payouts plan and history", () => {
  it("prints a table, carries over workers below --min-works, and lists history", async () => {
    const planned = await runCli(
      planArgs("--budget", "1000", "--min-works", "4", "--out", join(dir, "p.json")),
    );
    expect(planned.code).toBe(0);
    expect(planned.stdout).toMatch(/^worker\s+precache\s+ondemand\s+weight\s+Nano/);
    expect(planned.stdout).toMatch(/below --min-works 4: work carries over/);
    expect(planned.stdout).toMatch(
      /total 0.000000000000000000000000001 Nano of a 0.000000000000000000000000001 Nano budget, 5 payments/,
    );
    const history = await runCli(["payouts", "history", "--db", db, "--json"]);
    expect(JSON.parse(history.stdout)).toEqual([expect.objectContaining({ status: "open", budget: "1000" })]);
    const account = funded(1).address;
    const fraction = await runCli(
      planArgs(
        "--fraction",
        "0.5",
        "--node",
        sim.rpcUrl,
        "--account",
        account,
        "--json",
        "--out",
        join(dir, "q.json"),
      ),
    );
    expect(JSON.parse(fraction.stdout).budget).toBe(((5n * NANO) / 2n).toString());
    const noPrompt = await runCli(
      runArgs(join(dir, "q.json"), "--wallet", "00", "--source", funded().address),
    );
    expect(noPrompt.stderr).toMatch(/pass --yes/);
    const source = funded();
    const dry = await runCli(runArgs(join(dir, "q.json"), ...walletOptions(source), "--dry-run"));
    expect(dry.stdout).toMatch(/dry run: nothing sent/);
    expect(sendsFrom(source.address).size).toBe(0);
  });
});
