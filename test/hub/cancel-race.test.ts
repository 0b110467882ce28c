/**
 * The race of issue 10 item 9, forced in-process: precached work for a hash is won, and before its
 * cancel goes out a service asks for the hash at a higher difficulty, which opens and broadcasts an
 * on-demand job. The cancel (payload `HASH`, nothing else) then reaches the workers after the new
 * job. Workers that cancel by hash alone (the original worker does) dropped the new job too, and
 * the service got a timeout. A coordinator wrapper pauses the win between caching the work and
 * closing the job, so the ordering happens on every run, whatever the machine's speed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Coordinator } from "../../src/hub/ports.js";
import { fromMultiplier } from "../../src/nano/difficulty.js";
import { formatU64, parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { topics } from "../../src/protocol/topics.js";
import type { RunningWorker } from "../../src/worker/index.js";
import { FakeWorker, newPayout, randomHash, solveBelow } from "../helpers/fake-worker.js";
import { startCpuWorker, TestHub, waitFor } from "../precache/harness.js";

/** 4,096 hashes on average: a one-thread CPU worker solves the 8x maximum in milliseconds. */
const BASE = 0xfff0000000000000n;
const MAX = fromMultiplier(8, BASE);
const IMPOSSIBLE = 0xfffffffffffffff0n;

/**
 * Pauses closeJob of one job id until released: the win is then between caching and closing.
 * `afterClose` runs once that job is closed, before the win goes on to its cancel.
 */
class PausedClose {
  jobId: string | null = null;
  afterClose: ((inner: Coordinator) => Promise<unknown>) | null = null;
  reached!: Promise<void>;
  release!: () => void;
  private arrive!: () => void;
  private gate!: Promise<void>;

  constructor() {
    this.reset();
  }

  reset(): void {
    this.jobId = null;
    this.afterClose = null;
    this.reached = new Promise((resolve) => {
      this.arrive = resolve;
    });
    this.gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  wrap(inner: Coordinator): Coordinator {
    return new Proxy(inner, {
      get: (target, prop, receiver) => {
        if (prop === "closeJob") {
          return async (hash: string, jobId: string) => {
            if (jobId !== this.jobId) return target.closeJob(hash, jobId);
            this.arrive();
            await this.gate;
            const closed = await target.closeJob(hash, jobId);
            await this.afterClose?.(target);
            return closed;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }
}

const dir = mkdtempSync(join(tmpdir(), "dpow-cancel-race-"));
const paused = new PausedClose();
let hub: TestHub;
let original: FakeWorker;
const workers: RunningWorker[] = [];
/** Every work/ and cancel/ message the recording worker got, in order. */
const sequence: string[] = [];

beforeAll(async () => {
  hub = await TestHub.start({ db: join(dir, "hub.db"), base: BASE, wrapCoordinator: (c) => paused.wrap(c) });
  // Records every message, as a worker that cancels by hash alone would see them.
  original = await FakeWorker.connect(hub.broker.port);
  original.client.on("message", (topic, payload) => sequence.push(`${topic} ${payload.toString()}`));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await original.close();
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a cancel for a won job and a newer job for the same hash", () => {
  it("reach workers in an order that leaves the newer job alive, and its service is answered", async () => {
    for (let round = 0; round < 3; round++) {
      paused.reset();
      const hash = randomHash();
      // Precache job P at the base, won with work below the maximum (so a request at the maximum
      // needs a new job).
      expect(await hub.hub.flow.precache(hash, BASE, 60_000)).toBe(true);
      await original.waitForJob(hash);
      paused.jobId = (await hub.coordinator.job(hash))?.id ?? null;
      // A real worker that joins now sees only what follows. It is kept busy on an impossible job,
      // so the on-demand job waits in its queue while the cancel arrives.
      const worker = await startCpuWorker(hub, newPayout());
      workers.push(worker);
      const busy = randomHash();
      await hub.hub.flow.precache(busy, IMPOSSIBLE, 60_000);
      await waitFor("the worker busy", () => worker.status().active?.hash === busy);
      await original.publishResult(hash, solveBelow(hash, MAX, BASE), "precache");
      await paused.reached;
      expect((await hub.coordinator.cachedWork(hash))?.value).toBeLessThan(MAX);

      const answer = hub.request({ hash, difficulty: formatU64(MAX), timeout: 20 });
      await original.waitForJob(hash, 2);
      await waitFor("the on-demand job queued", () => worker.status().queued === 1);
      paused.release();
      // The cancel went out; a cancel of the busy job after it frees the worker (the hub publishes
      // in order, so the worker has seen the first cancel when it sees this one).
      await original.waitForCancel(hash);
      await hub.hub.flow.forget(busy);

      const { status, json } = await answer;
      expect(status).toBe(200);
      expect(workValue(parseHash(hash), parseU64(json.work, "work")) >= MAX).toBe(true);
      // For a worker that cancels by hash alone: the on-demand job came again after the cancel.
      await original.waitForJob(hash, 3);
      const forHash = sequence.filter((m) => !m.startsWith("client/") && m.includes(hash));
      // The first four: the win's own cancel/ondemand may follow them by now.
      expect(forHash.slice(0, 4)).toEqual([
        `work/precache ${hash},${formatU64(BASE)}`,
        `work/ondemand ${hash},${formatU64(MAX)}`,
        `cancel/precache ${hash}`,
        `work/ondemand ${hash},${formatU64(MAX)}`,
      ]);
      await worker.stop();
    }
  });

  it("leaves out a newer job that the won work satisfies, which its opener closes unbroadcast", async () => {
    paused.reset();
    const hash = randomHash();
    expect(await hub.hub.flow.precache(hash, BASE, 60_000)).toBe(true);
    await original.waitForJob(hash);
    paused.jobId = (await hub.coordinator.job(hash))?.id ?? null;
    // Another replica's request at the base checked the cache before this win cached its work, and
    // opens its job just after the won one closes (as it will find the work, it closes that job
    // unbroadcast). Before the fix the cancel's look-up found it and broadcast it: paid twice.
    paused.afterClose = (inner) =>
      inner.openJob({ hash, type: "ondemand", difficulty: BASE, service: "other", ttlMs: 60_000 });
    // An invalid payout address: the win tells it so as its last act, after the cancel and any
    // repeat of a newer job, over the same connection, so its arrival means nothing else follows.
    const mistyped = "nano_1111";
    const told = new Promise<void>((resolve) =>
      original.client.on("message", (topic) => {
        if (topic === topics.client(mistyped)) resolve();
      }),
    );
    await original.client.subscribeAsync(topics.client(mistyped), { qos: 1 });
    await original.publishResult(hash, solveBelow(hash, MAX, BASE), "precache", mistyped);
    await paused.reached;
    paused.release();
    await told;
    const forHash = sequence.filter((m) => !m.startsWith("client/") && m.includes(hash));
    expect(forHash).toEqual([`work/precache ${hash},${formatU64(BASE)}`, `cancel/precache ${hash}`]);
    const newer = await hub.coordinator.job(hash);
    expect(newer?.service).toBe("other");
    if (newer) await hub.coordinator.closeJob(hash, newer.id);
  });
});
