/**
 * The heartbeat the embedded broker writes itself (paced-broadcast.ts): serialised by hand once, so
 * MQTT.js parsing it on MQTT 3.1 and 3.1.1 is the check that the bytes are right,
 * and each subscriber gets each heartbeat exactly once.
 */
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";

describe("heartbeat from the embedded broker", () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1", interfacePassword: "watch" });
  });
  afterAll(() => broker.close());

  const connect = (protocolVersion: 3 | 4, username = "client", password = "client") =>
    mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username,
      password,
      protocolVersion,
      reconnectPeriod: 0,
    });

  const counting = (client: MqttClient) => {
    const seen: string[] = [];
    const waiters: Array<() => void> = [];
    client.on("message", (topic, payload) => {
      seen.push(`${topic}:${payload.toString()}`);
      for (const wake of waiters.splice(0)) wake();
    });
    const until = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (seen.length >= n ? resolve() : waiters.push(check));
        check();
      });
    return { seen, until };
  };

  it("reaches MQTT 3.1 and 3.1.1 subscribers, once per heartbeat, even with two matching filters", async () => {
    const v4 = await connect(4);
    const v3 = await connect(3);
    const watcher = await connect(4, "dpowinterface", "watch");
    try {
      const clients = [v4, v3, watcher];
      const counts = clients.map(counting);
      await v4.subscribeAsync("heartbeat", { qos: 0 });
      await v3.subscribeAsync("heartbeat", { qos: 0 });
      await watcher.subscribeAsync(["heartbeat", "+"], { qos: 0 });
      await broker.hub.publish("heartbeat", "");
      await broker.hub.publish("heartbeat", "");
      for (const c of counts) await c.until(2);
      for (const c of counts) expect(c.seen).toEqual(["heartbeat:", "heartbeat:"]);
    } finally {
      await Promise.all([v4, v3, watcher].map((c) => c.endAsync(true)));
    }
  });

  it("frames payloads of every remaining-length size right: 1, 2 and 3 bytes of length", async () => {
    const client = await connect(4);
    try {
      const { seen, until } = counting(client);
      await client.subscribeAsync("heartbeat", { qos: 0 });
      // "heartbeat" and its 2-byte length take 11 bytes of the remaining length.
      const sizes = [0, 116, 117, 16_372, 16_373, 70_000];
      const payloads = sizes.map((n, i) => Buffer.alloc(n, 97 + i).toString());
      for (const payload of payloads) await broker.hub.publish("heartbeat", payload);
      await until(payloads.length);
      expect(seen).toEqual(payloads.map((p) => `heartbeat:${p}`));
    } finally {
      await client.endAsync(true);
    }
  });

  it("stops when the client unsubscribes", async () => {
    const client = await connect(4);
    const other = await connect(4);
    try {
      const mine = counting(client);
      const theirs = counting(other);
      await client.subscribeAsync("heartbeat");
      await other.subscribeAsync("heartbeat");
      await broker.hub.publish("heartbeat", "");
      await mine.until(1);
      await client.unsubscribeAsync("heartbeat");
      await broker.hub.publish("heartbeat", "");
      await theirs.until(2);
      // A message to `client` after the heartbeat would have come after it on the same connection.
      await client.subscribeAsync("statistics");
      await broker.hub.publish("statistics", "x");
      await mine.until(2);
      expect(mine.seen).toEqual(["heartbeat:", "statistics:x"]);
    } finally {
      await Promise.all([client, other].map((c) => c.endAsync(true)));
    }
  });
});
