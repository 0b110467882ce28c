/**
 * Subset fan-out in the embedded broker, seen from real MQTT clients: which workers a job and its
 * cancel reach. "Nobody else" is checked after a marker broadcast (a cancel for a hash no job has)
 * has reached every worker: aedes delivers to each connection in publish order, so by then every
 * delivery of what was published before it has arrived.
 */
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { jobsAtLeastOnce } from "../../src/hub/broker/delivery.js";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import type { FanOutOptions } from "../../src/hub/broker/subset-fan-out.js";
import { formatCancelPayload, topics } from "../../src/protocol/topics.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";

let broker: EmbeddedBroker | undefined;
let workers: FakeWorker[] = [];

afterEach(async () => {
  await Promise.all(workers.map((w) => w.close()));
  workers = [];
  await broker?.close();
  broker = undefined;
});

async function setUp(
  count: number,
  fanOut: FanOutOptions,
): Promise<{ broker: EmbeddedBroker; workers: FakeWorker[] }> {
  broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1", fanOut });
  workers = await Promise.all(
    Array.from({ length: count }, () => FakeWorker.connect((broker as EmbeddedBroker).port)),
  );
  return { broker, workers };
}

const job = (hash: string) => `${hash},fffffff800000000`;

/** Broadcasts a marker and waits until every worker has it: earlier deliveries are all in. */
async function settle(b: EmbeddedBroker, all: FakeWorker[]): Promise<void> {
  const marker = randomHash();
  await b.hub.publish(topics.cancel("ondemand"), formatCancelPayload(marker));
  await Promise.all(all.map((w) => w.waitForCancel(marker)));
}

const got = (all: FakeWorker[], hash: string) => all.filter((w) => w.jobs.some((j) => j.hash === hash));
const cancelled = (all: FakeWorker[], hash: string) => all.filter((w) => w.cancels.includes(hash));

describe("subset fan-out (embedded broker)", () => {
  it("with no more workers than the subset size, every job and cancel goes to everyone", async () => {
    const { broker: b, workers: all } = await setUp(4, { size: 4, escalateMs: 60_000 });
    const hub = jobsAtLeastOnce(b.hub);
    const hash = randomHash();
    await hub.publish(topics.work("ondemand"), job(hash));
    await Promise.all(all.map((w) => w.waitForJob(hash)));
    await hub.publish(topics.cancel("ondemand"), formatCancelPayload(hash));
    await Promise.all(all.map((w) => w.waitForCancel(hash)));
  });

  it("sends each job to exactly `size` workers, and its cancel to those and nobody else", async () => {
    const { broker: b, workers: all } = await setUp(12, { size: 3, escalateMs: 60_000 });
    const hub = jobsAtLeastOnce(b.hub);
    const hashes = [randomHash(), randomHash(), randomHash()];
    for (const hash of hashes) await hub.publish(topics.work("ondemand"), job(hash));
    await settle(b, all);
    for (const hash of hashes) expect(got(all, hash)).toHaveLength(3);
    for (const hash of hashes) await hub.publish(topics.cancel("ondemand"), formatCancelPayload(hash));
    await settle(b, all);
    for (const hash of hashes) expect(cancelled(all, hash)).toEqual(got(all, hash));
  });

  it("a job for a hash that is open again goes to the same workers", async () => {
    const { broker: b, workers: all } = await setUp(10, { size: 2, escalateMs: 60_000 });
    const hash = randomHash();
    await b.hub.publish(topics.work("ondemand"), job(hash));
    await b.hub.publish(topics.work("ondemand"), `${hash},fffffffe00000000`);
    await settle(b, all);
    const first = got(all, hash);
    expect(first).toHaveLength(2);
    for (const w of first) expect(w.jobs.filter((j) => j.hash === hash)).toHaveLength(2);
  });

  it("escalates a job nobody solves to twice as many workers each deadline, and cancels all of them", async () => {
    const { broker: b, workers: all } = await setUp(10, { size: 2, escalateMs: 30 });
    const hash = randomHash();
    await b.hub.publish(topics.work("ondemand"), job(hash));
    // 2, then 4, 8, then everyone: each deadline adds as many as have it.
    await Promise.all(all.map((w) => w.waitForJob(hash)));
    await b.hub.publish(topics.cancel("ondemand"), formatCancelPayload(hash));
    await Promise.all(all.map((w) => w.waitForCancel(hash)));
    for (const w of all) expect(w.jobs.filter((j) => j.hash === hash)).toHaveLength(1);
  });

  it("keeps readers that are not workers (dpowinterface) on every job", async () => {
    broker = await startEmbeddedBroker({
      mqttPort: 0,
      host: "127.0.0.1",
      interfacePassword: "watch",
      fanOut: { size: 1, escalateMs: 60_000 },
    });
    workers = await Promise.all(
      Array.from({ length: 4 }, () => FakeWorker.connect((broker as EmbeddedBroker).port)),
    );
    const { default: mqtt } = await import("mqtt");
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: "dpowinterface",
      password: "watch",
      reconnectPeriod: 0,
    });
    const seen: string[] = [];
    const both = new Promise<void>((resolve) =>
      watcher.on("message", (_topic, payload) => {
        if (seen.push(payload.toString()) === 2) resolve();
      }),
    );
    await watcher.subscribeAsync("work/#");
    try {
      const hashes = [randomHash(), randomHash()];
      for (const hash of hashes) await broker.hub.publish(topics.work("ondemand"), job(hash));
      await settle(broker, workers);
      for (const hash of hashes) expect(got(workers, hash)).toHaveLength(1);
      await both;
      expect(seen).toEqual(hashes.map(job));
    } finally {
      await watcher.endAsync(true);
    }
  });

  it("sends subset jobs through aedes, still to `size` workers, while the hub itself listens to them", async () => {
    const { broker: b, workers: all } = await setUp(8, { size: 2, escalateMs: 60_000 });
    const heard: string[] = [];
    await b.hub.subscribe("work/#", (_topic, payload) => heard.push(payload.toString()));
    const hash = randomHash();
    await b.hub.publish(topics.work("ondemand"), job(hash));
    await settle(b, all);
    expect(got(all, hash)).toHaveLength(2);
    expect(heard).toEqual([job(hash)]);
  });

  it("spreads jobs over the workers: every worker gets some of 200 jobs at size 2 of 8", async () => {
    const { broker: b, workers: all } = await setUp(8, { size: 2, escalateMs: 60_000 });
    for (let i = 0; i < 200; i++) await b.hub.publish(topics.work("ondemand"), job(randomHash()));
    await settle(b, all);
    const counts = all.map((w) => w.jobs.length);
    expect(counts.reduce((a, c) => a + c, 0)).toBe(400);
    // Each worker expects 50; the chance that a fair draw leaves one under 15 is below 1e-9.
    for (const count of counts) expect(count).toBeGreaterThanOrEqual(15);
  });

  it("writes subset jobs and cancels at QoS 0 to MQTT 3.1 and 3.1.1 workers; a broadcast keeps QoS 1", async () => {
    // Four workers subscribed at QoS 1, a job and its cancel published at QoS 1 (as the hub does).
    const deliveries = async (size: number, expected: number) => {
      broker = await startEmbeddedBroker({
        mqttPort: 0,
        host: "127.0.0.1",
        fanOut: { size, escalateMs: 60_000 },
      });
      const { default: mqtt } = await import("mqtt");
      const url = `mqtt://127.0.0.1:${broker.port}`;
      const clients = await Promise.all(
        ([3, 3, 4, 4] as const).map((protocolVersion) =>
          mqtt.connectAsync(url, {
            username: "client",
            password: "client",
            protocolVersion,
            reconnectPeriod: 0,
          }),
        ),
      );
      const seen: Array<{ at: number; topic: string; payload: string; qos: number }> = [];
      const all = new Promise<void>((resolve) => {
        clients.forEach((c, at) => {
          c.on("message", (topic, payload, packet) => {
            seen.push({ at, topic, payload: payload.toString(), qos: packet.qos });
            if (seen.length === expected) resolve();
          });
        });
      });
      try {
        await Promise.all(clients.map((c) => c.subscribeAsync(["work/#", "cancel/#"], { qos: 1 })));
        const hub = jobsAtLeastOnce(broker.hub);
        const hash = randomHash();
        await hub.publish(topics.work("ondemand"), job(hash));
        await hub.publish(topics.cancel("ondemand"), formatCancelPayload(hash));
        await all;
        return { hash, seen };
      } finally {
        await Promise.all(clients.map((c) => c.endAsync(true)));
        await broker.close();
        broker = undefined;
      }
    };
    const subset = await deliveries(2, 4);
    expect(subset.seen.map((m) => m.qos)).toEqual([0, 0, 0, 0]);
    const receivers = [...new Set(subset.seen.map((m) => m.at))];
    expect(receivers).toHaveLength(2);
    for (const at of receivers)
      expect(subset.seen.filter((m) => m.at === at).map((m) => [m.topic, m.payload])).toEqual([
        [topics.work("ondemand"), job(subset.hash)],
        [topics.cancel("ondemand"), subset.hash],
      ]);
    // No more workers than the subset: everything is broadcast through aedes, at the QoS asked for.
    const broadcast = await deliveries(4, 8);
    expect(broadcast.seen.map((m) => m.qos)).toEqual(Array(8).fill(1));
  });

  it("skips a worker that stops reading once 64 KiB wait for it: no worker can make the broker hold its jobs", async () => {
    const { broker: b, workers: all } = await setUp(2, { size: 1, escalateMs: 600_000 });
    // Neither reads: each job goes to one of them, and first fills the kernel's buffers (~4 MB here).
    for (const w of all) (w.client.stream as Socket).pause();
    const sent = 240_000;
    const hashes = Array.from({ length: sent }, randomHash);
    for (const hash of hashes) await b.hub.publish(topics.work("ondemand"), job(hash));
    for (const w of all) (w.client.stream as Socket).resume();
    await settle(b, all);
    const received = all.map((w) => w.jobs.length);
    // 240,000 jobs of 81 bytes (9.7 MB for each worker, on average): what neither the kernel nor
    // 64 KiB took was skipped. Without the cap every one of them arrives.
    for (const count of received) expect(count).toBeGreaterThan(0);
    expect(received.reduce((a, b) => a + b, 0)).toBeLessThan(sent);
    // And a worker that reads again gets jobs again.
    const later = randomHash();
    await b.hub.publish(topics.work("ondemand"), job(later));
    await settle(b, all);
    expect(got(all, later)).toHaveLength(1);
  }, 60_000);
});
