/**
 * The worker with a remote backend: `dpow work-server` (nano-work-server's RPC) as a GPU box would
 * serve it, including work_cancel and a server that dies mid-job and comes back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { type RunningWorker, startWorker } from "../../src/worker/index.js";
import { freePort } from "../helpers/ports.js";
import { EASY, IMPOSSIBLE, memoryLog, newPayout, randomHash, TestHub, waitForStatus } from "./helpers.js";
import { DpowProcess } from "./process.js";

describe("worker with dpow work-server as its backend", () => {
  let broker: EmbeddedBroker;
  let hub: TestHub;
  let port: number;
  let workServer: DpowProcess;
  const workers: RunningWorker[] = [];

  async function startWorkServer(): Promise<void> {
    workServer = DpowProcess.start(["work-server", "--listen", `127.0.0.1:${port}`, "--threads", "1"]);
    await workServer.waitForLine(/dpow work-server listening on/);
  }

  async function worker(log = memoryLog()): Promise<RunningWorker> {
    const running = await startWorker({
      payout: newPayout(),
      server: `mqtt://client:client@127.0.0.1:${broker.port}`,
      backend: await createBackend(`http://127.0.0.1:${port}`),
      backendRetry: { firstDelayMs: 100, maxDelayMs: 400 },
      maxAttempts: 1000,
      log,
    });
    workers.push(running);
    await waitForStatus(running, "the hub online", (s) => s.hubOnline);
    return running;
  }

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1", serverPassword: "hub-secret" });
    hub = await TestHub.connect(`mqtt://127.0.0.1:${broker.port}`, "hub-secret");
    hub.startHeartbeat();
    port = await freePort();
    await startWorkServer();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await workServer?.stop();
    await hub?.close();
    await broker?.close();
  });

  it("solves jobs through the work server, and cancels there with work_cancel", async () => {
    const running = await worker();
    const easy = randomHash();
    await hub.work("ondemand", easy, EASY);
    await hub.result(easy, EASY);

    const stuck = randomHash();
    await hub.work("precache", stuck, IMPOSSIBLE);
    await waitForStatus(running, "the impossible job running", (s) => s.active?.hash === stuck);
    await hub.cancel("precache", stuck);
    await waitForStatus(running, "the job cancelled", (s) => s.cancelled === 1 && s.active === null);
    // Had the cancel not reached the server (work_cancel), this job would wait behind the search forever.
    const next = randomHash();
    await hub.work("ondemand", next, EASY);
    await hub.result(next, EASY);
  });

  it("survives the work server dying mid-job: retries with backoff until it is back", async () => {
    const log = memoryLog();
    const running = await worker(log);
    const stuck = randomHash();
    await hub.work("ondemand", stuck, IMPOSSIBLE);
    await waitForStatus(running, "the impossible job running", (s) => s.active?.hash === stuck);
    workServer.kill("SIGKILL");
    await workServer.exited;
    await waitForStatus(running, "the failure noticed", (s) => s.failed >= 1);
    expect(
      log.lines.some(
        (l) => l.includes(`failed on ${stuck.slice(0, 10)}`) && l.includes("put back in the queue"),
      ),
    ).toBe(true);
    await hub.cancel("ondemand", stuck);

    const hash = randomHash();
    await hub.work("ondemand", hash, EASY);
    await waitForStatus(running, "attempts on the new job failing", (s) => s.failed >= 3);
    await startWorkServer();
    await hub.result(hash, EASY);
    expect(running.status().connection).toBe("connected");
  });
});
