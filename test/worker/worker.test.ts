/**
 * The worker library against real brokers (the embedded one and a real Mosquitto from the shipped
 * config) with the real CPU backend, and this test acting as the hub over MQTT as `dpowserver`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { formatU64, U64_MAX } from "../../src/nano/index.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { DIFFICULTIES_ANNOUNCED } from "../../src/protocol/worker-session.js";
import { type RunningWorker, startWorker, type WorkerOptions } from "../../src/worker/index.js";
import { type RunningMosquitto, startMosquitto } from "../broker/mosquitto.js";
import { freePort } from "../helpers/ports.js";
import { serviceAvailable } from "../helpers/services.js";
import { EASY, IMPOSSIBLE, memoryLog, newPayout, randomHash, TestHub, waitForStatus } from "./helpers.js";

interface BrokerFixture {
  /** Where workers connect, as the public `client` account: over TCP, and over WebSocket. */
  workerUrl: string;
  workerWsUrl: string;
  hubUrl: string;
  hubPassword: string;
  /** Takes the broker down and brings it back on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

const FAST_RETRY = { firstDelayMs: 100, maxDelayMs: 1000 };

async function embeddedFixture(): Promise<BrokerFixture> {
  const options = { mqttPort: 0, host: "127.0.0.1", serverPassword: "hub-secret" };
  let broker = await startEmbeddedBroker(options);
  const port = broker.port;
  const http = createServer((_req, res) => res.end("not mqtt"));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const wsPort = (http.address() as AddressInfo).port;
  broker.attachWebSocket(http);
  const start = async () => {
    broker = await startEmbeddedBroker({ ...options, mqttPort: port });
    broker.attachWebSocket(http);
  };
  return {
    workerUrl: `mqtt://client:client@127.0.0.1:${port}`,
    workerWsUrl: `ws://client:client@127.0.0.1:${wsPort}/mqtt`,
    hubUrl: `mqtt://127.0.0.1:${port}`,
    hubPassword: "hub-secret",
    stop: () => broker.close(),
    start,
    async close() {
      await broker.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

async function mosquittoFixture(): Promise<BrokerFixture> {
  const mosquitto: RunningMosquitto = await startMosquitto();
  const login = `client:${mosquitto.passwords.client}@127.0.0.1`;
  return {
    workerUrl: `mqtt://${login}:${mosquitto.mqttPort}`,
    workerWsUrl: `ws://${login}:${mosquitto.wsPort}/mqtt`,
    hubUrl: `mqtt://127.0.0.1:${mosquitto.mqttPort}`,
    hubPassword: mosquitto.passwords.dpowserver,
    stop: () => mosquitto.stop(),
    start: () => mosquitto.start(),
    close: () => mosquitto.dispose(),
  };
}

const brokers: [string, () => Promise<BrokerFixture>][] = [["embedded broker", embeddedFixture]];
if (await serviceAvailable("mosquitto")) brokers.push(["mosquitto", mosquittoFixture]);

describe.each(brokers)("worker on the %s", (_name, startBroker) => {
  let broker: BrokerFixture;
  let hub: TestHub;
  const workers: RunningWorker[] = [];

  async function worker(options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
    const running = await startWorker({
      payout: newPayout(),
      server: broker.workerUrl,
      backend: await createBackend("cpu", { threads: 1 }),
      reconnect: FAST_RETRY,
      backendRetry: FAST_RETRY,
      ...options,
    });
    workers.push(running);
    await waitForStatus(running, "the hub online", (s) => s.connection === "connected" && s.hubOnline);
    return running;
  }

  beforeAll(async () => {
    broker = await startBroker();
    hub = await TestHub.connect(broker.hubUrl, broker.hubPassword);
    hub.startHeartbeat();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    hub.startHeartbeat();
  });
  afterAll(async () => {
    await hub?.close();
    await broker?.close();
  });

  it("solves on-demand and precache jobs and publishes work it validated, with its payout", async () => {
    const payout = newPayout();
    const running = await worker({ payout });
    const jobs = [
      { type: "ondemand", hash: randomHash() },
      { type: "precache", hash: randomHash() },
      { type: "ondemand", hash: randomHash().toLowerCase() },
    ] as const;
    for (const job of jobs) await hub.work(job.type, job.hash, EASY);
    for (const job of jobs) {
      const result = await hub.result(job.hash.toUpperCase(), EASY);
      expect(result.type).toBe(job.type);
      expect(result.address).toBe(payout);
    }
    const status = await waitForStatus(running, "3 jobs done", (s) => s.done === 3);
    expect(status).toMatchObject({ queued: 0, active: null, cancelled: 0, failed: 0 });
  });

  it("says once per hub difficulty, for the first few, how long a job there takes", async () => {
    const log = memoryLog();
    const running = await worker({ log });
    // EASY (2^10 expected hashes), then 2^9, 2^8, ...: distinct, and each solved at once.
    const difficulties = Array.from(
      { length: DIFFICULTIES_ANNOUNCED + 1 },
      (_, i) => (EASY << BigInt(i)) & U64_MAX,
    );
    const jobs = [EASY, EASY, ...difficulties, EASY];
    for (const difficulty of jobs) {
      const hash = randomHash();
      await hub.work("ondemand", hash, difficulty);
      await hub.result(hash, difficulty);
      await waitForStatus(running, "the job's difficulty shown", (s) => s.hubDifficulty === difficulty);
    }
    const notes = log.lines.filter((l) => l.startsWith("info hub difficulty "));
    const announced = difficulties.slice(0, DIFFICULTIES_ANNOUNCED).map(formatU64);
    expect(notes.map((l) => l.split(" ")[3])).toEqual(announced.map((d) => `${d}:`));
    // No speed known before the first job is solved; measured on solved jobs from then on.
    expect(notes[0]).toMatch(/: expected time per job unknown until this backend's speed is measured$/);
    for (const note of notes.slice(1))
      expect(note).toMatch(/: expected ~(<1 ms|[\d.]+ m?s) per job at ~[\d.]+ [kMG]?H\/s$/);
  });

  it("ignores a duplicate job and solves it once", async () => {
    const running = await worker();
    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    await hub.result(hash, EASY);
    await hub.work("ondemand", hash, EASY);
    const next = randomHash();
    await hub.work("ondemand", next, EASY);
    await hub.result(next, EASY);
    expect(hub.results.filter((r) => r.hash === hash)).toHaveLength(1);
    expect(running.status().done).toBe(2);
  });

  it("aborts the running job on cancel, drops a cancelled waiting job, and ignores a late cancel", async () => {
    const running = await worker();
    const stuck = randomHash();
    const waiting = randomHash();
    await hub.work("precache", stuck, IMPOSSIBLE);
    await waitForStatus(running, "the impossible job running", (s) => s.active?.hash === stuck);
    // Cancel before the job starts: it waits behind the impossible one.
    await hub.work("precache", waiting, EASY);
    await waitForStatus(running, "a job waiting", (s) => s.queued === 1);
    await hub.cancel("precache", waiting);
    await waitForStatus(running, "the waiting job dropped", (s) => s.queued === 0 && s.cancelled === 1);
    // Cancel during the job.
    await hub.cancel("precache", stuck);
    await waitForStatus(running, "the running job aborted", (s) => s.active === null && s.cancelled === 2);
    // The backend is free again, and a cancel after the result changes nothing.
    const after = randomHash();
    await hub.work("ondemand", after, EASY);
    await hub.result(after, EASY);
    await hub.cancel("ondemand", after);
    const marker = randomHash();
    await hub.work("ondemand", marker, EASY);
    await hub.result(marker, EASY);
    expect(running.status()).toMatchObject({ done: 2, cancelled: 2 });
    expect(hub.results.map((r) => r.hash)).not.toContain(waiting);
    expect(hub.results.map((r) => r.hash)).not.toContain(stuck);
  });

  it("shows the hub's feedback: credits, rewards and errors", async () => {
    const payout = newPayout();
    const log = memoryLog();
    const running = await worker({ payout, log });
    const rewarded = randomHash();
    await hub.feedback(payout, { precache: 1, ondemand: 2, block_rewarded: rewarded });
    const status = await waitForStatus(running, "the reward", (s) => s.accepted === 1);
    expect(status.credits).toEqual({ precache: 1, ondemand: 2 });
    expect(status.lastReward?.hash).toBe(rewarded);
    await hub.feedback(payout, { error: "invalid work" });
    await hub.feedback(payout, { precache: "many" });
    await hub.feedback(payout, { precache: 1, ondemand: 3 });
    await waitForStatus(running, "the new counters", (s) => s.credits?.ondemand === 3);
    expect(log.lines).toContain("error the hub says: invalid work");
    expect(log.lines.some((l) => l.startsWith("warn ignored an unreadable message from the hub"))).toBe(true);
  });

  it("starts no job while the hub's heartbeat is missing, and resumes when it returns", async () => {
    const running = await worker({ heartbeatTimeoutMs: 400 });
    const seen: { hubOnline: boolean; active: boolean }[] = [];
    running.onStatus((s) => seen.push({ hubOnline: s.hubOnline, active: s.active !== null }));
    hub.stopHeartbeat();
    await waitForStatus(running, "the hub offline", (s) => !s.hubOnline);
    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    await waitForStatus(running, "the job queued", (s) => s.queued === 1);
    hub.startHeartbeat();
    await hub.result(hash, EASY);
    const offlineAt = seen.findIndex((s) => !s.hubOnline);
    const onlineAgain = seen.findIndex((s, i) => i > offlineAt && s.hubOnline);
    expect(offlineAt).toBeGreaterThanOrEqual(0);
    expect(onlineAgain).toBeGreaterThan(offlineAt);
    expect(seen.slice(offlineAt, onlineAgain).some((s) => s.active)).toBe(false);
  });

  it("works over MQTT over WebSocket", async () => {
    const payout = newPayout();
    await worker({ payout, server: broker.workerWsUrl });
    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    expect((await hub.result(hash, EASY)).address).toBe(payout);
  });

  it("survives a broker restart: reconnects, subscribes again and takes jobs", async () => {
    const log = memoryLog();
    const running = await worker({ log });
    await broker.stop();
    await waitForStatus(running, "the connection lost", (s) => s.connection === "reconnecting");
    await waitForStatus(running, "the hub offline", (s) => !s.hubOnline);
    await broker.start();
    await waitForStatus(
      running,
      "reconnected, hub online",
      (s) => s.connection === "connected" && s.hubOnline,
    );
    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    await hub.result(hash, EASY);
    expect(
      log.lines.some((l) => /^warn broker connection to .* lost or refused .*; retrying in/.test(l)),
    ).toBe(true);
    // Once at start, once after the restart (a stall of this process may add an offline/online pair).
    expect(log.lines.filter((l) => l.startsWith("info hub is online")).length).toBeGreaterThanOrEqual(2);
  });

  it("survives a work server that is not there: retries with backoff, then drops the job, never crashes", async () => {
    const log = memoryLog();
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const running = await worker({ log, backend: await createBackend(nowhere) });
    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    const status = await waitForStatus(
      running,
      "3 failed attempts",
      (s) => s.failed === 3 && s.active === null,
    );
    expect(status).toMatchObject({ queued: 0, done: 0, connection: "connected" });
    const failures = log.lines.filter((l) =>
      l.startsWith(`error rpc (${nowhere}) failed on ${hash.slice(0, 10)}`),
    );
    expect(failures).toHaveLength(3);
    expect(failures[0]).toMatch(
      /cannot reach the work server .*; job put back in the queue; next job in 100 ms/,
    );
    expect(failures[2]).toMatch(/job dropped after 3 attempt\(s\)/);
  });

  it("retries after a backoff even when the wall clock steps back meanwhile", async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const running = await worker({ backend: await createBackend(nowhere) });
    // A minute back (an NTP step) as the first failure is counted: a pause kept as a wall-clock
    // deadline would outlast its retry timer, and the job would wait in the queue for ever.
    const realNow = Date.now.bind(Date);
    const stepBack = running.onStatus((s) => {
      if (s.failed < 1) return;
      stepBack();
      vi.spyOn(Date, "now").mockImplementation(() => realNow() - 60_000);
    });
    try {
      await hub.work("ondemand", randomHash(), EASY);
      await waitForStatus(running, "3 failed attempts", (s) => s.failed === 3 && s.active === null);
    } finally {
      stepBack();
      vi.restoreAllMocks();
    }
  });
});

describe("worker without a hub", () => {
  it("says so when it is connected to the broker but never hears the hub", async () => {
    const broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
    const log = memoryLog();
    const running = await startWorker({
      payout: newPayout(),
      server: `mqtt://client:client@127.0.0.1:${broker.port}`,
      backend: await createBackend("cpu", { threads: 1 }),
      heartbeatTimeoutMs: 300,
      log,
    });
    try {
      const silent = /^warn connected .* ago but no heartbeat from the hub yet: is the hub running/;
      const status = await waitForStatus(running, "the silence reported", () =>
        log.lines.some((l) => silent.test(l)),
      );
      expect(status).toMatchObject({ connection: "connected", hubOnline: false });
    } finally {
      await running.stop();
      await broker.close();
    }
  });
});
