/**
 * The hub as a Nano node's work peer: the real `dpow server --work-peer`, a real MQTT worker, and a
 * fixture that generates work as the node's distributed_work does (all peers at once, first valid
 * wins, work_cancel to the losers on new connections).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import {
  DistributedWork,
  DistributedWorkError,
  FakeWorkPeer,
  randomRoot,
} from "../fixtures/nano-node/distributed-work.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, newPayout, randomHash } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
  waitForMetric,
} from "../helpers/hub-process.js";
import { startCpuWorker, TestHub } from "../precache/harness.js";

const BASE = parseU64(TEST_DIFFICULTY, "base");
const temp = tempDir();
let hub: HubProcess;
let peerAddress: string;
const closers: Array<() => Promise<unknown>> = [];

function valid(hash: string, work: string, difficulty: bigint): boolean {
  return workValue(parseHash(hash), parseU64(work, "work")) >= difficulty;
}

beforeAll(async () => {
  hub = await spawnHub(join(temp.dir, "hub.db"), [
    "--work-peer",
    "127.0.0.1:0",
    "--work-peer-service",
    "mynode",
  ]);
  peerAddress = `127.0.0.1:${hub.logs.find((l) => l.msg === "listening")?.work_peer_port}`;
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await hub?.stop();
  temp.remove();
});

async function worker(auto: boolean): Promise<FakeWorker> {
  const w = await FakeWorker.connect(hub.mqttPort, { auto, payout: newPayout() });
  closers.push(() => w.close());
  return w;
}

async function fakePeer(mode: "hold" | "solve" | "error"): Promise<FakeWorkPeer> {
  const peer = await FakeWorkPeer.start(mode);
  closers.push(() => peer.close());
  return peer;
}

describe("dpow server --work-peer", () => {
  it("is the only peer: the node gets valid work, counted as the work peer's service", async () => {
    const solver = await worker(true);
    const node = new DistributedWork([peerAddress]);
    const hash = randomRoot();
    const result = await node.generate(hash, BASE);
    expect(result.peer).toBe(peerAddress);
    expect(valid(hash, result.work, BASE)).toBe(true);
    expect(result.cancelled).toEqual([]);
    await solver.close();

    // Registered at start and counted (counts are flushed to the ledger every few seconds).
    const list = runCli(["service", "list", "--db", hub.db, "--json"]);
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain('"mynode"');
    expect(await metric(hub, 'dpow_requests_total{outcome="work"}')).toBeGreaterThanOrEqual(1);
  });

  it("among other peers: the hub wins over a slower peer, which gets work_cancel on a new connection", async () => {
    const solver = await worker(true);
    const slow = await fakePeer("hold");
    const node = new DistributedWork([slow.address, peerAddress]);
    const hash = randomRoot();
    const result = await node.generate(hash, BASE);
    expect(result.peer).toBe(peerAddress);
    expect(valid(hash, result.work, BASE)).toBe(true);
    expect(result.cancelled).toEqual([slow.address]);
    await slow.waitForDrop(hash);
    await slow.waitFor("work_cancel", hash);
    await solver.close();
  });

  it("losing to another peer: the node's work_cancel reaches the hub's workers", async () => {
    const listener = await worker(false);
    const fast = await fakePeer("hold");
    const node = new DistributedWork([peerAddress, fast.address]);
    const hash = randomRoot();
    const generated = node.generate(hash, BASE);
    await listener.waitForJob(hash);
    await fast.release(hash);
    const result = await generated;
    expect(result.peer).toBe(fast.address);
    expect(result.cancelled).toEqual([peerAddress]);
    await listener.waitForCancel(hash);
  });

  it("work_cancel leaves a job alone that a service also waits on", async () => {
    const added = runCli(["service", "add", "svc", "--rate", "0", "--db", hub.db, "--json"]);
    expect(added.status, added.stderr).toBe(0);
    const { user, api_key } = JSON.parse(added.stdout) as { user: string; api_key: string };
    const listener = await worker(false);
    const fast = await fakePeer("hold");
    const hash = randomHash();
    const service = postWork(hub, { user, api_key, hash, timeout: 20 });
    await listener.waitForJob(hash);
    const node = new DistributedWork([peerAddress, fast.address]);
    const generated = node.generate(hash, BASE);
    await fast.release(hash);
    expect((await generated).peer).toBe(fast.address);
    // The service's request still gets work from a worker: the job was not cancelled.
    await listener.publishResult(hash, BigInt(`0x${(await generated).work}`));
    const answer = await service;
    expect(answer.json.error).toBeUndefined();
    await listener.waitForCancel(hash);
    expect(listener.cancels.filter((h) => h === hash).length).toBe(1); // the win's cancel only
  });

  it("answers malformed requests with HTTP 200 and an error, so the node moves on at once", async () => {
    const post = async (body: string) => {
      const response = await fetch(`http://${peerAddress}/`, { method: "POST", body });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const notJson = await post("{");
    expect(notJson).toEqual({ status: 200, json: { error: "Bad request (not json)" } });
    const badHash = await post(JSON.stringify({ action: "work_generate", hash: "zz" }));
    expect(badHash.status).toBe(200);
    expect(badHash.json.error).toMatch(/^Bad block hash/);
    const tooHigh = await post(
      JSON.stringify({ action: "work_generate", hash: randomRoot(), difficulty: "ffffffffffffffff" }),
    );
    expect(tooHigh.json.error).toMatch(/^Difficulty too high/);
    const big = await post(
      JSON.stringify({ action: "work_generate", hash: randomRoot(), pad: "x".repeat(10_000) }),
    );
    expect(big.json.error).toMatch(/^Request too large/);
    const status = await post(JSON.stringify({ action: "status" }));
    expect(status.json).toEqual({ generating: "0", queue_size: "0" });
    const root = randomRoot();
    const zero = await post(
      JSON.stringify({ action: "work_validate", hash: root, work: "0000000000000000" }),
    );
    const value = workValue(parseHash(root), 0n).toString(16).padStart(16, "0");
    expect(zero.json).toMatchObject({ valid: value >= TEST_DIFFICULTY ? "1" : "0", difficulty: value });
    const cancel = await post(JSON.stringify({ action: "work_cancel", hash: randomRoot() }));
    expect(cancel).toEqual({ status: 200, json: {} });
    // Every peer failing is what makes the node retry (and fall back to local work).
    const erroring = await fakePeer("error");
    await expect(new DistributedWork([erroring.address]).generate(randomRoot(), BASE)).rejects.toBeInstanceOf(
      DistributedWorkError,
    );
  });
});

describe("dpow server --work-peer-allow", () => {
  it("refuses sources outside the list with an error the node logs", async () => {
    const other = await spawnHub(join(temp.dir, "other.db"), [
      "--work-peer",
      "127.0.0.1:0",
      "--work-peer-allow",
      "10.0.0.0/8",
    ]);
    closers.push(() => other.stop());
    const address = `127.0.0.1:${other.logs.find((l) => l.msg === "listening")?.work_peer_port}`;
    const failure = await new DistributedWork([address])
      .generate(randomRoot(), BASE)
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DistributedWorkError);
    expect((failure as DistributedWorkError).bodies[0]).toMatch(
      /^\{"error":"Forbidden: 127\.0\.0\.1 may not use/,
    );
  });

  it("refuses a malformed allow list before starting", () => {
    const result = runCli([
      "server",
      "--work-peer",
      "0",
      "--work-peer-allow",
      "10.0.0.0/99",
      "--db",
      join(temp.dir, "x.db"),
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(/^dpow: --work-peer-allow: "10\.0\.0\.0\/99" is not an IP address/);
  });
});

describe("dpow server --work-peer, shutting down", () => {
  it("answers a waiting node with an error (HTTP 200) and exits 0", async () => {
    const other = await spawnHub(join(temp.dir, "stopping.db"), ["--work-peer", "127.0.0.1:0"]);
    closers.push(() => other.stop());
    const address = `127.0.0.1:${other.logs.find((l) => l.msg === "listening")?.work_peer_port}`;
    const body = JSON.stringify({ action: "work_generate", hash: randomRoot(), difficulty: TEST_DIFFICULTY });
    const answer = fetch(`http://${address}/`, { method: "POST", body });
    await waitForMetric(other, "dpow_waiting_requests", (n) => n === 1);
    const exited = other.stop("SIGTERM");
    const response = await answer;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { error: string }).error).toMatch(/^The hub is shutting down/);
    expect(await exited).toBe(0);
  });
});

describe("work peer and precache", () => {
  it("marks the account a node names for precache, as the service API does", async () => {
    const test = await TestHub.start({
      db: join(temp.dir, "precache.db"),
      base: BASE,
      precache: {},
      workPeer: { host: "127.0.0.1", port: 0, service: "node", allow: ["127.0.0.1"] },
    });
    const cpu = await startCpuWorker(test, newPayout());
    try {
      const account = newPayout();
      const hash = randomRoot();
      const result = await new DistributedWork([`127.0.0.1:${test.hub.workPeerPort}`]).generate(
        hash,
        BASE,
        account,
      );
      expect(valid(hash, result.work, BASE)).toBe(true);
      expect(await test.coordinator.frontier(account)).toBe(hash);
    } finally {
      await cpu.stop();
      await test.close();
    }
  });
});
