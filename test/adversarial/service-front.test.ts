/**
 * Attacks on the service front (issue "Hardening", attacks 2 and 4), end to end against the spawned
 * `dpow server` with its default limits, while an honest service is served by an honest worker.
 * Each asserts its bound: the hub's memory growth, that the attacking connections are closed, and
 * that the honest request still gets valid work meanwhile.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, TEST_DIFFICULTY, tempDir } from "../helpers/hub-process.js";
import { addService, openTcp, rssBytes, UnreadingWebSocket } from "../helpers/service-clients.js";

/** The hub may grow by this much under an attack (it grew by 3.8 GB in 60 s before the limits). */
const RSS_GROWTH_LIMIT = 100 * 1024 * 1024;
const BASE = parseU64(TEST_DIFFICULTY, "base");

const temp = tempDir();
const db = join(temp.dir, "hub.db");
let hub: HubProcess;
let worker: FakeWorker;
let honest: { user: string; api_key: string };

beforeAll(async () => {
  honest = addService(db, "honest", "--rate", "0");
  hub = await spawnHub(db);
  worker = await FakeWorker.connect(hub.mqttPort, { auto: true });
  await expectHonestRequestServed();
});

afterAll(async () => {
  await worker?.close();
  await hub?.stop();
  temp.remove();
});

async function expectHonestRequestServed(): Promise<void> {
  const hash = randomHash();
  const { json } = await postWork(hub, { ...honest, hash, timeout: 30 });
  expect(json.error, JSON.stringify(json)).toBeUndefined();
  expect(workValue(parseHash(hash), parseU64(json.work, "work")) >= BASE).toBe(true);
}

/** Samples the hub's RSS until stopped; `peakGrowth` is the most it grew over its level at start. */
function watchMemory(pid: number): { stop: () => number } {
  const start = rssBytes(pid);
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 25);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rssBytes(pid)) - start;
    },
  };
}

/** Floods `ws` with `message` until the hub closes it; resolves with how many it sent. */
async function floodUntilClosed(ws: UnreadingWebSocket, message: () => string): Promise<number> {
  let open = true;
  ws.closed.then(() => {
    open = false;
  });
  let sent = 0;
  while (open) {
    await ws.send(message());
    sent += 1;
  }
  return sent;
}

describe("attack 2: a WebSocket flood that never reads its answers", () => {
  it("closes every attacking socket, keeps the hub's memory bounded and serves the honest service", async () => {
    const pid = hub.child.pid as number;
    const memory = watchMemory(pid);
    const id = "x".repeat(3000);
    const badCredentials = () => JSON.stringify({ user: "x", api_key: "WRONG", hash: randomHash(), id });
    // 8 attackers, each reconnecting twice after being closed: 24 sockets flooded to the end.
    const attackers = Array.from({ length: 8 }, async () => {
      let closed = 0;
      for (let round = 0; round < 3; round++) {
        const ws = await UnreadingWebSocket.open(hub.httpPort);
        await floodUntilClosed(ws, badCredentials);
        closed += 1;
      }
      return closed;
    });
    // One that holds a valid key sends requests it never reads the answers to: it is closed when
    // its unread answers pass the cap.
    let n = 0;
    const keyed = (async () => {
      const ws = await UnreadingWebSocket.open(hub.httpPort);
      return floodUntilClosed(ws, () =>
        JSON.stringify({ ...honest, hash: "00", id: `${++n}`.padEnd(250, "-") }),
      );
    })();
    await expectHonestRequestServed();
    expect(await Promise.all(attackers)).toEqual(Array(8).fill(3));
    expect(await keyed).toBeGreaterThan(0);
    await expectHonestRequestServed();
    const growth = memory.stop();
    expect(growth, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(RSS_GROWTH_LIMIT);
  });
});

describe("attack 4: slow bodies", () => {
  it("closes 100 connections trickling their bodies, and serves the honest service meanwhile", async () => {
    const pid = hub.child.pid as number;
    const memory = watchMemory(pid);
    const slow = await Promise.all(Array.from({ length: 100 }, () => openTcp(hub.httpPort)));
    const trickles = slow.map(({ socket }) => {
      socket.write(
        "POST /service/ HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      );
      return setInterval(() => socket.write(" "), 10_000);
    });
    try {
      await expectHonestRequestServed();
      await Promise.all(slow.map((c) => c.closed));
    } finally {
      for (const trickle of trickles) clearInterval(trickle);
      for (const { socket } of slow) socket.destroy();
    }
    await expectHonestRequestServed();
    const growth = memory.stop();
    expect(growth, `RSS grew by ${(growth / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(RSS_GROWTH_LIMIT);
  });
});
