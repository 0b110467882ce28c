import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectExternalBroker, type ExternalBroker } from "../../src/hub/broker/mqtt-client.js";
import { freePort } from "../helpers/ports.js";
import { serviceAvailable } from "../helpers/services.js";
import { brokerContract } from "./acl-contract.js";
import { type RunningMosquitto, startMosquitto } from "./mosquitto.js";

const available = await serviceAvailable("mosquitto");

if (available) {
  brokerContract("Mosquitto with deploy/mosquitto (TCP)", async () => {
    const mosquitto = await startMosquitto();
    return {
      url: `mqtt://127.0.0.1:${mosquitto.mqttPort}`,
      passwords: mosquitto.passwords,
      stop: () => mosquitto.dispose(),
    };
  });

  brokerContract("Mosquitto with deploy/mosquitto (WebSocket)", async () => {
    const mosquitto = await startMosquitto();
    return {
      url: `ws://127.0.0.1:${mosquitto.wsPort}/mqtt`,
      passwords: mosquitto.passwords,
      stop: () => mosquitto.dispose(),
    };
  });
}

describe.runIf(available)("the hub's Broker port over an external Mosquitto (--mqtt-url)", () => {
  let mosquitto: RunningMosquitto;
  let hub: ExternalBroker;
  const url = () => `mqtt://dpowserver:${mosquitto.passwords.dpowserver}@127.0.0.1:${mosquitto.mqttPort}`;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    hub = await connectExternalBroker(url(), { reconnectPeriodMs: 100 });
  });
  afterAll(async () => {
    await hub?.close();
    await mosquitto?.dispose();
  });

  async function worker() {
    return mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, {
      username: "client",
      password: mosquitto.passwords.client,
      reconnectPeriod: 0,
    });
  }

  /** Publishes on `topic` from a fresh worker until `arrived` settles (the hub may still be reconnecting). */
  async function publishUntil(topic: string, arrived: Promise<unknown>): Promise<void> {
    let done = false;
    void arrived.then(() => {
      done = true;
    });
    const w = await worker();
    const deadline = Date.now() + 10_000;
    while (!done) {
      if (Date.now() > deadline) throw new Error(`the hub never received a message on ${topic}`);
      await w.publishAsync(topic, "ping", { qos: 1 });
      await Promise.race([arrived, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
    await w.endAsync();
  }

  /** Subscribes the hub to `pattern`; `next` is its next message there (wrapped: an async function would await it). */
  async function nextOnHub(pattern: string): Promise<{ next: Promise<string> }> {
    let deliver: (message: string) => void = () => {};
    const message = new Promise<string>((resolve) => {
      deliver = resolve;
    });
    await hub.subscribe(pattern, (topic, payload) => deliver(`${topic} ${payload.toString()}`));
    return { next: message };
  }

  it("publishes work to workers and receives their results", async () => {
    const { next: result } = await nextOnHub("result/ondemand");
    const w = await worker();
    await w.subscribeAsync("work/#");
    const work = new Promise<string>((resolve) =>
      w.once("message", (t, p) => resolve(`${t} ${p.toString()}`)),
    );
    await hub.publish("work/ondemand", "H,D", { qos: 1 });
    expect(await work).toBe("work/ondemand H,D");
    await w.publishAsync("result/ondemand", "H,W,nano_x", { qos: 1 });
    expect(await result).toBe("result/ondemand H,W,nano_x");
    await w.endAsync();
  });

  it("reconnects and resubscribes after the broker restarts", async () => {
    const { next: result } = await nextOnHub("result/precache");
    await mosquitto.stop();
    await mosquitto.start();
    await publishUntil("result/precache", result);
    expect(await result).toBe("result/precache ping");
    expect(hub.connected()).toBe(true);
  });

  it("keeps a persistent session across its own restart: a worker that subscribed once still gets jobs", async () => {
    const options = {
      username: "client",
      password: mosquitto.passwords.client,
      clientId: "python-worker",
      clean: false,
      resubscribe: false,
      reconnectPeriod: 0,
    };
    const first = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, options);
    await first.subscribeAsync({ "work/#": { qos: 1 }, heartbeat: { qos: 0 } });
    await first.endAsync();
    await mosquitto.stop();
    await mosquitto.start();
    const server = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, {
      username: "dpowserver",
      password: mosquitto.passwords.dpowserver,
      reconnectPeriod: 0,
    });
    // Published while the worker is away: queued for its session (QoS 1).
    await server.publishAsync("work/ondemand", "QUEUED,D", { qos: 1 });
    // Listening before CONNACK: the queued job follows it at once.
    const back = mqtt.connect(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, options);
    const seen: string[] = [];
    const both = new Promise<void>((resolve) =>
      back.on("message", (topic, payload) => {
        seen.push(`${topic} ${payload.toString()}`);
        if (seen.length === 2) resolve();
      }),
    );
    await new Promise((resolve) => back.once("connect", resolve));
    await server.publishAsync("work/ondemand", "LIVE,D", { qos: 1 });
    await both;
    expect(seen).toEqual(["work/ondemand QUEUED,D", "work/ondemand LIVE,D"]);
    await back.endAsync();
    await server.endAsync();
  });

  it("says so when the password is wrong", async () => {
    const wrong = `mqtt://dpowserver:nope@127.0.0.1:${mosquitto.mqttPort}`;
    await expect(connectExternalBroker(wrong)).rejects.toThrow(/not authorized|bad user name/);
  });

  it("says so when no broker answers", async () => {
    const port = await freePort();
    await expect(
      connectExternalBroker(`mqtt://dpowserver:x@127.0.0.1:${port}`, { connectTimeoutMs: 500 }),
    ).rejects.toThrow(/cannot connect to the MQTT broker at mqtt:\/\/dpowserver:\*\*\*@127\.0\.0\.1/);
  });

  it("refuses a URL that is not an MQTT URL", async () => {
    await expect(connectExternalBroker("localhost:1883")).rejects.toThrow(/must look like mqtt:\/\//);
  });
});
