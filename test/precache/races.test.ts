import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromMultiplier } from "../../src/nano/difficulty.js";
import { formatU64, parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import {
  buildBlock,
  type ChainBlock,
  type ChainHead,
  confirmationOf,
  type KeyPair,
  makeChain,
  NANO,
  NanoNodeSimulator,
  TEST_THRESHOLDS,
} from "../fixtures/nano-node/index.js";
import { FakeWorker, solve, solveBelow } from "../helpers/fake-worker.js";
import { TestHub, waitFor } from "./harness.js";

const BASE = TEST_THRESHOLDS.send;
const DOUBLE = fromMultiplier(2, BASE);
const dir = mkdtempSync(join(tmpdir(), "dpow-precache-"));
let sim: NanoNodeSimulator;
let hub: TestHub;
let worker: FakeWorker;
let nextAccount = 0;

beforeAll(async () => {
  sim = await NanoNodeSimulator.start({ autoConfirm: false, funded: Array(10).fill(1000n * NANO) });
  hub = await TestHub.start({ db: join(dir, "hub.db"), base: BASE, precache: { nodeWs: sim.wsUrl } });
  worker = await FakeWorker.connect(hub.broker.port);
  await waitFor("the hub to subscribe to the node", () => sim.feed.subscriberCount() === 1);
});

afterAll(async () => {
  await worker?.close();
  await hub?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const isValid = (hash: string, work: unknown, threshold: bigint) =>
  workValue(parseHash(hash), parseU64(work, "work")) >= threshold;
/** Confirmations the hub has handled, of the labels given (e.g. 'outcome="precached"'). */
const handled = (...labels: string[]) => hub.metric("dpow_precache_confirmations_total", ...labels);
const served = async () => (await hub.ledger.service("svc")) ?? { precache: -1, ondemand: -1 };

/** Publishes valid work for the `n`th job the worker saw on `hash`, of the job's own type. */
async function solveJob(hash: string, n = 1, work?: bigint): Promise<bigint> {
  const job = await worker.waitForJob(hash, n);
  const solution = work ?? solve(hash, job.difficulty);
  await worker.publishResult(hash, solution, job.type);
  return solution;
}

/**
 * A funded account the hub now tracks: a request named it (in the legacy xrb_ form, which the
 * node's confirmations never use), and the worker answered on demand.
 */
async function trackedAccount(): Promise<{ key: KeyPair; head: ChainHead; work: string }> {
  const key = sim.funded[nextAccount++] as KeyPair;
  const head = sim.head(key);
  const answer = hub.request({ hash: head.previous, account: key.address.replace(/^nano_/, "xrb_") });
  await solveJob(head.previous);
  const { json } = await answer;
  expect(isValid(head.previous, json.work, BASE)).toBe(true);
  return { key, head, work: json.work as string };
}

/** The account's next block (a send to genesis) with `work`, accepted by the node, not confirmed yet. */
function submitNext(head: ChainHead, work: string): ChainBlock {
  const block = buildBlock(
    head,
    { type: "send", to: sim.genesis.address, amount: 1n },
    TEST_THRESHOLDS,
    work,
  );
  sim.submit(block.block);
  return block;
}

/** Confirms on the node and waits until the hub has handled `count` more confirmations. */
async function confirm(hash: string, count = 1): Promise<void> {
  const before = await handled();
  await sim.confirm(hash);
  await waitFor(
    `the hub to handle the confirmation of ${hash}`,
    async () => (await handled()) >= before + count,
  );
}

const precacheJobs = (hash: string) => worker.jobs.filter((j) => j.hash === hash && j.type === "precache");

describe("precache from the node's confirmations", () => {
  it("precaches a tracked account's next root, credits it as precache and serves it as precache", async () => {
    const { head, work } = await trackedAccount();
    const b1 = submitNext(head, work);
    const precachedBefore = await handled('outcome="precached"');
    await confirm(b1.hash);
    expect(await handled('outcome="precached"')).toBe(precachedBefore + 1);
    const job = await worker.waitForJob(b1.hash);
    expect(job).toMatchObject({ type: "precache", difficulty: BASE });

    // Work between the base and twice it: valid, and beatable later.
    const first = solveBelow(b1.hash, DOUBLE, BASE);
    await worker.publishResult(b1.hash, first, "precache");
    await worker.waitForFeedback("the precache credit", (f) => f.block_rewarded === b1.hash);
    expect(await hub.ledger.workerCounters(worker.payout)).toMatchObject({ precache: 1 });
    await worker.waitForCancel(b1.hash);

    const before = await served();
    const answer = await hub.request({ hash: b1.hash });
    expect(answer.json.work).toBe(formatU64(first));
    await waitFor(
      "the service's precache count",
      async () => (await served()).precache === before.precache + 1,
    );

    // Keep the best: a later, better result replaces the held work and is not credited.
    const better = solve(b1.hash, DOUBLE);
    await worker.publishResult(b1.hash, better, "precache");
    await waitFor(
      "the better work to be held",
      async () => (await hub.coordinator.cachedWork(b1.hash))?.work === better,
    );
    expect((await hub.request({ hash: b1.hash })).json.work).toBe(formatU64(better));
    // A worse one does not replace it.
    const late = await hub.metric("dpow_results_total", 'outcome="late"');
    await worker.publishResult(b1.hash, first, "precache");
    await waitFor(
      "the worse result to be judged late",
      async () => (await hub.metric("dpow_results_total", 'outcome="late"')) > late,
    );
    expect((await hub.coordinator.cachedWork(b1.hash))?.work).toBe(better);
    expect(await hub.ledger.workerCounters(worker.payout)).toMatchObject({ precache: 1 });
  });

  it("does not open a second job when a confirmation arrives while an on-demand job for that root runs", async () => {
    const { key, head, work } = await trackedAccount();
    const b1 = submitNext(head, work);
    const creditsBefore = await hub.ledger.workerCounters(worker.payout);
    // The service has its block and asks for the next work before the node confirms the block.
    const answer = hub.request({ hash: b1.hash, account: key.address });
    await worker.waitForJob(b1.hash);
    await confirm(b1.hash);
    expect(precacheJobs(b1.hash)).toHaveLength(0);
    await solveJob(b1.hash);
    const { json } = await answer;
    expect(isValid(b1.hash, json.work, BASE)).toBe(true);
    await worker.waitForFeedback("the on-demand credit", (f) => f.block_rewarded === b1.hash);
    const credits = await hub.ledger.workerCounters(worker.payout);
    expect(credits).toEqual({ precache: creditsBefore.precache, ondemand: creditsBefore.ondemand + 1 });
    // Its result is held: the next request for the root is answered at once.
    expect((await hub.request({ hash: b1.hash })).json.work).toBe(json.work);
    expect(worker.jobs.filter((j) => j.hash === b1.hash)).toHaveLength(1);
  });

  it("answers a superseded root on demand, with valid work, after dropping what it held for it", async () => {
    const { head, work } = await trackedAccount();
    const b1 = submitNext(head, work);
    await confirm(b1.hash);
    const precached = await solveJob(b1.hash);
    await waitFor(
      "B1's work to be held",
      async () => (await hub.coordinator.cachedWork(b1.hash)) !== undefined,
    );
    const b2 = submitNext({ ...head, previous: b1.hash, balance: head.balance - 1n }, formatU64(precached));
    await confirm(b2.hash);
    expect(await hub.coordinator.cachedWork(b1.hash)).toBeUndefined();
    await worker.waitForJob(b2.hash);

    const answer = hub.request({ hash: b1.hash, multiplier: 2 });
    const job = await worker.waitForJob(b1.hash, 2);
    expect(job).toMatchObject({ type: "ondemand", difficulty: DOUBLE });
    await solveJob(b1.hash, 2);
    const { json } = await answer;
    expect(isValid(b1.hash, json.work, DOUBLE)).toBe(true);
  });

  it("ends at the newest block after duplicated and reordered confirmations, computing nothing twice", async () => {
    for (const seed of [3, 11]) {
      const { key, head, work } = await trackedAccount();
      const first = submitNext(head, work);
      const rest = makeChain(
        { ...head, previous: first.hash, balance: head.balance - 1n },
        Array.from({ length: 5 }, () => ({ type: "send" as const, to: sim.genesis.address, amount: 1n })),
        TEST_THRESHOLDS,
      );
      for (const block of rest) sim.submit(block.block);
      const chain = [first, ...rest];
      const last = chain[chain.length - 1] as ChainBlock;
      const before = await handled();
      await sim.feed.flush({ order: "shuffle", duplicate: true, seed });
      await waitFor(
        "every confirmation handled",
        async () => (await handled()) === before + 2 * chain.length,
      );

      expect(await hub.coordinator.frontier(key.address)).toBe(last.hash);
      for (const block of chain) expect(precacheJobs(block.hash).length).toBeLessThanOrEqual(1);
      await solveJob(last.hash);
      await waitFor(
        "the newest block's work",
        async () => (await hub.coordinator.cachedWork(last.hash)) !== undefined,
      );
      for (const block of chain.slice(0, -1))
        expect(await hub.coordinator.cachedWork(block.hash)).toBeUndefined();
      const answer = await hub.request({ hash: last.hash });
      expect(isValid(last.hash, answer.json.work, BASE)).toBe(true);
    }
  });

  it("keeps precached work through a restart, and precaches again what was left unsolved", async () => {
    const solved = await trackedAccount();
    const s1 = submitNext(solved.head, solved.work);
    await confirm(s1.hash);
    const held = await solveJob(s1.hash);
    await waitFor(
      "the work to be held",
      async () => (await hub.coordinator.cachedWork(s1.hash))?.work === held,
    );
    const unsolved = await trackedAccount();
    const u1 = submitNext(unsolved.head, unsolved.work);
    await confirm(u1.hash);
    await worker.waitForJob(u1.hash);

    await hub.restart();
    await waitFor("the hub to subscribe again", () => sim.feed.subscriberCount() === 1);
    const answer = await hub.request({ hash: s1.hash });
    expect(answer.json.work).toBe(formatU64(held));
    expect(await hub.coordinator.frontier(solved.key.address)).toBe(s1.hash);
    expect(await worker.waitForJob(u1.hash, 2)).toMatchObject({ type: "precache", difficulty: BASE });
    await solveJob(u1.hash, 2);
    await waitFor(
      "the resumed work to be held",
      async () => (await hub.coordinator.cachedWork(u1.hash)) !== undefined,
    );
  });

  it("takes the node's HTTP callback at /block/, refuses garbage, and ignores forged blocks", async () => {
    const { key, head, work } = await trackedAccount();
    const b1 = submitNext(head, work);
    const post = (body: string) => fetch(hub.url("/block/"), { method: "POST", body });
    const stored = sim.ledger.blocks.get(b1.hash);
    if (!stored) throw new Error("block not stored");
    const message = confirmationOf(stored);
    const callbackBody = (block: object, hash = b1.hash) =>
      JSON.stringify({ account: key.address, hash, block: JSON.stringify(block), subtype: "send" });

    const forged = await post(callbackBody({ ...message.block, balance: "1" }));
    expect(forged.status).toBe(200);
    expect(await handled('outcome="forged"')).toBeGreaterThanOrEqual(1);

    expect((await post("{nope")).status).toBe(400);
    const wrong = await post(JSON.stringify({ hash: b1.hash, block: { not: "a string" } }));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/block/);
    // Too large: answered 413 and dropped (the client may see either), and the hub keeps running.
    expect((await post("x".repeat(100_000)).catch(() => ({ status: 413 }))).status).toBe(413);
    expect((await fetch(hub.url("/upcheck/"))).status).toBe(200);
    expect((await fetch(hub.url("/block/"))).status).toBe(405);

    const before = await handled('source="callback"', 'outcome="precached"');
    expect((await post(callbackBody(message.block))).status).toBe(200);
    expect(await handled('source="callback"', 'outcome="precached"')).toBe(before + 1);
    expect((await worker.waitForJob(b1.hash)).type).toBe("precache");
    const seconds = await (await fetch(hub.url("/upcheck/blocks/"))).text();
    expect(Number.isInteger(Number(seconds)) && Number(seconds) < 60).toBe(true);
  });
});
