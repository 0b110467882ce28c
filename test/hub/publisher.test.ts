/**
 * The embedded broker's Broker port tells result handlers who published (what penalties are charged
 * to), over TCP and over WebSocket, and drops and refuses a connection when told to.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import type { Publisher } from "../../src/hub/ports.js";

let broker: EmbeddedBroker;
const http = createServer();
let wsUrl: string;
const heard: Array<{ payload: string; publisher?: Publisher }> = [];

beforeAll(async () => {
  broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
  broker.attachWebSocket(http, "/mqtt");
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  wsUrl = `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`;
  await broker.hub.subscribe("result/#", (_topic, payload, publisher) =>
    heard.push({ payload: payload.toString(), publisher }),
  );
});

afterAll(async () => {
  await broker.hub.close();
  await broker.close();
  http.close();
});

const login = { username: "client", password: "client", reconnectPeriod: 0 };

async function heardFrom(payload: string) {
  await expect.poll(() => heard.find((h) => h.payload === payload), { timeout: 10_000 }).toBeDefined();
  return heard.find((h) => h.payload === payload)?.publisher;
}

describe("the in-process Broker port", () => {
  it.each([
    ["TCP", () => `mqtt://127.0.0.1:${broker.port}`],
    ["WebSocket", () => wsUrl],
  ])("names the publisher of a message over %s: client id, address, login", async (_how, url) => {
    const client = await mqtt.connectAsync(url(), { ...login, clientId: `pub-${_how}` });
    await client.publishAsync("result/ondemand", `hello ${_how}`);
    expect(await heardFrom(`hello ${_how}`)).toEqual({
      clientId: `pub-${_how}`,
      address: "127.0.0.1",
      username: "client",
    });
    await client.endAsync();
  });

  it("gives the hub's own messages no publisher", async () => {
    await broker.hub.publish("result/ondemand", "from the hub");
    expect(await heardFrom("from the hub")).toBeUndefined();
  });

  it("drops a connection on disconnect() and refuses its client id from that address for the time given", async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const client = await mqtt.connectAsync(url, { ...login, clientId: "dropped" });
    await client.publishAsync("result/ondemand", "before the drop");
    const publisher = (await heardFrom("before the drop")) as Publisher;
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    broker.hub.disconnect?.(publisher, 60_000);
    await closed;
    await client.endAsync(true);
    await expect(mqtt.connectAsync(url, { ...login, clientId: "dropped" }, false)).rejects.toThrow();
    const other = await mqtt.connectAsync(url, { ...login, clientId: "another" }, false);
    await other.endAsync();
  });
});
