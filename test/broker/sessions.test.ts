import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import {
  type EmbeddedBroker,
  type EmbeddedBrokerOptions,
  startEmbeddedBroker,
} from "../../src/hub/broker/embedded.js";
import { tempDir, waitForValue } from "../helpers/hub-process.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function broker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const started = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1", ...options });
  cleanups.push(() => started.close());
  return started;
}

function folder(): string {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return dir;
}

/** Connects as the original Python worker does: `clean: false`, a fixed id, no resubscribe of its own. */
async function originalWorker(
  port: number,
  clientId: string,
  extra: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    username: "client",
    password: "client",
    clientId,
    clean: false,
    resubscribe: false,
    reconnectPeriod: 0,
    ...extra,
  });
  cleanups.push(() => client.endAsync(true));
  return client;
}

function nextMessage(client: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      client.off("message", onMessage);
      resolve(payload.toString());
    };
    client.on("message", onMessage);
  });
}

function messages(client: MqttClient, count: number): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve) => {
    client.on("message", (topic, payload) => {
      seen.push(`${topic} ${payload.toString()}`);
      if (seen.length === count) resolve(seen);
    });
  });
}

describe("persistent sessions of the embedded broker", () => {
  it("survive a restart of the broker on the same file: a worker that subscribed once keeps getting messages", async () => {
    const file = join(folder(), "dpow.db.mqtt-sessions");
    const first = await broker({ sessions: { file } });
    const worker = await originalWorker(first.port, "python-worker-1");
    await worker.subscribeAsync({ "work/#": { qos: 1 }, heartbeat: { qos: 0 } });
    await worker.endAsync();
    await first.close();

    const second = await broker({ sessions: { file } });
    expect(second.sessionCount()).toBe(1);
    const again = await originalWorker(second.port, "python-worker-1");
    const heartbeat = nextMessage(again, "heartbeat");
    const job = nextMessage(again, "work/ondemand");
    await second.hub.publish("heartbeat", "");
    await second.hub.publish("work/ondemand", "A,B", { qos: 1 });
    expect(await heartbeat).toBe("");
    expect(await job).toBe("A,B");
  });

  it("queue QoS 1 messages for an offline session, the newest `queueLimit`, also across a restart", async () => {
    const file = join(folder(), "sessions");
    const first = await broker({ sessions: { file, queueLimit: 5 } });
    const worker = await originalWorker(first.port, "offline-worker");
    await worker.subscribeAsync({ "work/#": { qos: 1 }, "cancel/#": { qos: 1 } });
    await worker.endAsync();
    for (let i = 0; i < 4; i++) await first.hub.publish("work/ondemand", `job${i}`, { qos: 1 });
    await first.close();

    const second = await broker({ sessions: { file, queueLimit: 5 } });
    for (let i = 4; i < 8; i++) await second.hub.publish("work/ondemand", `job${i}`, { qos: 1 });
    await second.hub.publish("cancel/ondemand", "job7", { qos: 1 });
    // Subscribe to the stream before CONNACK arrives: the queue follows it at once.
    const client = mqtt.connect(`mqtt://127.0.0.1:${second.port}`, {
      username: "client",
      password: "client",
      clientId: "offline-worker",
      clean: false,
      resubscribe: false,
      reconnectPeriod: 0,
    });
    cleanups.push(() => client.endAsync(true));
    expect(await messages(client, 5)).toEqual([
      "work/ondemand job4",
      "work/ondemand job5",
      "work/ondemand job6",
      "work/ondemand job7",
      "cancel/ondemand job7",
    ]);
  });

  it("expire when unused for the expiry, in memory and in the file", async () => {
    const file = join(folder(), "sessions");
    // A clock the test moves: 50 sessions made on a loaded machine can take longer than the expiry.
    let clock = Date.now();
    const embedded = await broker({ sessions: { file, expiryMs: 1000, now: () => clock } });
    for (let i = 0; i < 50; i++) {
      const worker = await originalWorker(embedded.port, `gone-${i}`);
      await worker.subscribeAsync({ "work/#": { qos: 1 }, [`client/x${i}`]: { qos: 1 } });
      await worker.endAsync();
    }
    const stays = await originalWorker(embedded.port, "online-worker");
    await stays.subscribeAsync({ "work/#": { qos: 1 } });
    expect(embedded.sessionCount()).toBe(51);
    clock += 2000;
    await waitForValue(
      "sessions kept",
      async () => embedded.sessionCount(),
      (n) => n === 1,
      30_000,
    );
    const db = new Database(file, { readonly: true });
    const rows = db.prepare("SELECT client_id FROM subscriptions").all() as { client_id: string }[];
    db.close();
    expect(rows.map((r) => r.client_id)).toEqual(["online-worker"]);
    const job = nextMessage(stays, "work/precache");
    await embedded.hub.publish("work/precache", "still here", { qos: 1 });
    expect(await job).toBe("still here");
  });

  it("are bounded in number: the one offline longest goes first, an online one never", async () => {
    const embedded = await broker({ sessions: { maxSessions: 20 } });
    const online = await originalWorker(embedded.port, "online-first");
    await online.subscribeAsync({ "work/#": { qos: 1 } });
    for (let i = 0; i < 200; i++) {
      const worker = await originalWorker(embedded.port, `cycle-${i}`);
      await worker.subscribeAsync({ "work/#": { qos: 1 }, heartbeat: { qos: 0 } });
      await worker.endAsync();
      expect(embedded.sessionCount()).toBeLessThanOrEqual(20);
    }
    // Its session was kept while the others came and went: it still has it after reconnecting.
    await online.endAsync();
    const back = await originalWorker(embedded.port, "online-first");
    const job = nextMessage(back, "work/ondemand");
    await embedded.hub.publish("work/ondemand", "for the online one", { qos: 1 });
    expect(await job).toBe("for the online one");
    // The newest offline session is still there: it gets what it missed.
    const latest = mqtt.connect(`mqtt://127.0.0.1:${embedded.port}`, {
      username: "client",
      password: "client",
      clientId: "cycle-199",
      clean: false,
      resubscribe: false,
      reconnectPeriod: 0,
    });
    cleanups.push(() => latest.endAsync(true));
    expect(await nextMessage(latest, "work/ondemand")).toBe("for the online one");
  });
});
