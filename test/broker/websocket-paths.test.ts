import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type HubProcess, spawnHub, tempDir } from "../helpers/hub-process.js";

describe("MQTT over WebSocket on the hub's HTTP port", () => {
  const temp = tempDir();
  let hub: HubProcess;
  beforeAll(async () => {
    hub = await spawnHub(join(temp.dir, "hub.db"));
  });
  afterAll(async () => {
    await hub?.stop();
    temp.remove();
  });

  // `/mqtt/` is the original hub's nginx path, which browser clients written for it use.
  it.each(["/mqtt", "/mqtt/"])("serves %s: a worker there gets the heartbeat", async (path) => {
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${hub.httpPort}${path}`, {
      username: "client",
      password: "client",
      reconnectPeriod: 0,
    });
    const beat = new Promise<string>((resolve) => client.once("message", (topic) => resolve(topic)));
    await client.subscribeAsync("heartbeat");
    expect(await beat).toBe("heartbeat");
    await client.endAsync();
  });

  it("refuses other upgrade paths", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/mqttx`, "mqtt");
    const outcome = await new Promise<string>((resolve) => {
      ws.once("open", () => resolve("open"));
      ws.once("unexpected-response", (_req, res) => resolve(`HTTP ${res.statusCode}`));
      ws.once("error", () => resolve("error"));
    });
    ws.terminate();
    expect(outcome).not.toBe("open");
  });
});
