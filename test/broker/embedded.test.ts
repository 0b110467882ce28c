import { createServer } from "node:http";
import { type AddressInfo, connect } from "node:net";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, PortInUseError, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { brokerContract } from "./acl-contract.js";

const passwords = { dpowserver: "server-secret", client: "client-pw", dpowinterface: "interface-secret" };

async function embedded() {
  return startEmbeddedBroker({
    mqttPort: 0,
    host: "127.0.0.1",
    serverPassword: passwords.dpowserver,
    clientPassword: passwords.client,
    interfacePassword: passwords.dpowinterface,
  });
}

brokerContract("embedded (TCP)", async () => {
  const broker = await embedded();
  return { url: `mqtt://127.0.0.1:${broker.port}`, passwords, stop: () => broker.close() };
});

brokerContract("embedded (MQTT over WebSocket at /mqtt)", async () => {
  const broker = await embedded();
  const http = createServer((_req, res) => res.end("not mqtt"));
  broker.attachWebSocket(http);
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  if (typeof address !== "object" || address === null) throw new Error("http server has no port");
  return {
    url: `ws://127.0.0.1:${address.port}/mqtt`,
    passwords,
    async stop() {
      await broker.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
});

describe("embedded broker", () => {
  let broker: EmbeddedBroker;
  beforeAll(async () => {
    broker = await embedded();
  });
  afterAll(() => broker.close());

  it("gives the hub in-process publish and subscribe, wildcards and retain included", async () => {
    const worker = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: "client",
      password: passwords.client,
    });
    const received: string[] = [];
    let delivered = () => {};
    const got = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    await broker.hub.subscribe("result/#", (topic, payload) => {
      received.push(`${topic} ${payload.toString()}`);
      delivered();
    });
    await worker.publishAsync("result/precache", "A,B,C", { qos: 1 });
    await got;
    expect(received).toEqual(["result/precache A,B,C"]);

    await broker.hub.publish("statistics", '{"n":1}', { retain: true });
    const retained = new Promise<[string, Buffer]>((resolve) =>
      worker.once("message", (t, p) => resolve([t, p])),
    );
    await worker.subscribeAsync("statistics");
    const [topic, payload] = await retained;
    expect([topic, payload.toString()]).toEqual(["statistics", '{"n":1}']);
    expect(broker.clientCount()).toBe(1);
    await worker.endAsync();
  });

  it("keeps delivering to the hub when one of its handlers throws", async () => {
    const seen: string[] = [];
    await broker.hub.subscribe("work/#", () => {
      throw new Error("handler bug");
    });
    let delivered = () => {};
    const got = new Promise<void>((resolve) => {
      delivered = resolve;
    });
    await broker.hub.subscribe("work/#", (_t, p) => {
      seen.push(p.toString());
      if (seen.length === 2) delivered();
    });
    await broker.hub.publish("work/ondemand", "one");
    await broker.hub.publish("work/ondemand", "two");
    await got;
    expect(seen).toEqual(["one", "two"]);
  });

  it("survives bytes that are not MQTT", async () => {
    for (const garbage of [
      Buffer.from("GET / HTTP/1.1\r\n\r\n"),
      Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x7f]),
    ]) {
      await new Promise<void>((resolve) => {
        const socket = connect(broker.port, "127.0.0.1", () => socket.end(garbage));
        socket.on("error", () => {});
        socket.on("close", () => resolve());
      });
    }
    const worker = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
      username: "client",
      password: passwords.client,
    });
    expect(worker.connected).toBe(true);
    await worker.endAsync();
  });

  it("leaves upgrades for other paths, even unparseable ones, to the HTTP server", async () => {
    const http = createServer();
    broker.attachWebSocket(http);
    const others: string[] = [];
    http.on("upgrade", (req, socket) => {
      others.push(req.url ?? "");
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as AddressInfo;
    for (const path of ["//", "/other", "/mqtt/x"]) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, "127.0.0.1", () =>
          socket.write(
            `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
          ),
        );
        socket.on("error", () => {});
        socket.on("close", () => resolve());
        socket.resume();
      });
    }
    expect(others).toEqual(["//", "/other", "/mqtt/x"]);
    await new Promise((resolve) => http.close(resolve));
  });

  it("names the port when it is already taken", async () => {
    await expect(startEmbeddedBroker({ mqttPort: broker.port, host: "127.0.0.1" })).rejects.toThrow(
      new PortInUseError(broker.port),
    );
  });

  it("closes at once, also with connections that never logged in", async () => {
    const other = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
    const http = createServer();
    other.attachWebSocket(http);
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const silent = connect(other.port, "127.0.0.1");
    await new Promise((resolve) => silent.once("connect", resolve));
    const ws = await mqtt.connectAsync(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt`, {
      username: "client",
      password: "client",
      reconnectPeriod: 0,
    });
    const closed = [
      new Promise((resolve) => silent.once("close", resolve)),
      new Promise<void>((resolve) => ws.once("close", () => resolve())),
    ];
    silent.resume();
    await other.close();
    await Promise.all(closed);
    await new Promise((resolve) => http.close(resolve));
  });

  it("refuses dpowinterface logins when no password was set", async () => {
    const bare = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
    await expect(
      mqtt.connectAsync(`mqtt://127.0.0.1:${bare.port}`, {
        username: "dpowinterface",
        password: "",
        reconnectPeriod: 0,
      }),
    ).rejects.toThrow();
    await bare.close();
  });
});
