/**
 * More MQTT connection attempts than the hub has descriptors, against the spawned `dpow server`
 * under a small open-file limit: the MQTT connections past the cap taken from that limit are
 * refused with CONNACK 3 (or closed unanswered when too many wait for that answer), one summary line
 * says so, and the service API and /upcheck/ keep answering with valid work.
 */

import { connect, type Socket } from "node:net";
import { join } from "node:path";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { parseHash, parseU64, workValue } from "../../src/nano/index.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
} from "../helpers/hub-process.js";
import { addService, openTcp } from "../helpers/service-clients.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hub(args: string[], openFileLimit?: number): Promise<{ hub: HubProcess; db: string }> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const db = join(dir, "hub.db");
  const started = await spawnHub(db, args, {}, openFileLimit);
  cleanups.push(() => started.stop());
  return { hub: started, db };
}

function field(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** MQTT 3.1.1 CONNECT as `client`/`client`, clean session, no keep-alive (body under 128 bytes). */
function connectPacket(clientId: string): Buffer {
  const body = Buffer.concat([
    field("MQTT"),
    Buffer.from([4, 0xc2, 0, 0]),
    ...[clientId, "client", "client"].map(field),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * One MQTT login over TCP: the CONNACK return code (0 = accepted) or -1 when the hub closed the
 * connection without one. An accepted connection stays open (it holds a descriptor on the hub).
 */
function attempt(port: number, clientId: string): Promise<{ code: number; socket: Socket }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.once("connect", () => socket.write(connectPacket(clientId)));
    socket.once("close", () => resolve({ code: -1, socket }));
    socket.once("data", (data: Buffer) => resolve({ code: data[0] === 0x20 ? (data[3] ?? -1) : -1, socket }));
  });
}

/** `count` attempts, `parallel` at a time; every socket is kept, to be closed by the test's cleanup. */
async function flood(port: number, count: number, parallel: number): Promise<number[]> {
  const codes: number[] = [];
  let next = 0;
  const sockets: Socket[] = [];
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
  });
  const attacker = async () => {
    while (next < count) {
      const { code, socket } = await attempt(port, `flood-${next++}`);
      codes.push(code);
      sockets.push(socket);
    }
  };
  await Promise.all(Array.from({ length: parallel }, attacker));
  return codes;
}

const capLines = (running: HubProcess, cap: number) =>
  running.logs.filter((line) =>
    (line.msg ?? "").startsWith(`MQTT connections refused (over the hub's cap of ${cap})`),
  );

describe("adversarial: more MQTT connections than the hub has descriptors", () => {
  it("under ulimit -n 400: MQTT gets 200, the rest are refused, the service API still answers with valid work", async () => {
    // Every test connection comes from 127.0.0.1: lift the per-address cap (128), as many addresses would.
    const { hub: running, db } = await hub(["--mqtt-max-per-ip", "0"], 400);
    const service = addService(db, "svc", "--rate", "0");
    // The cap comes from the limit: 400 less the reserve (at least 256), but never under half.
    const started = running.logs.find((line) => line.maxConnections !== undefined);
    expect(started).toMatchObject({ maxConnections: 200, openFileLimit: 400 });

    const worker = await FakeWorker.connect(running.mqttPort, { auto: true });
    cleanups.push(() => worker.close());
    // 600 attempts: more than the whole limit, so without the cap the hub would be out of descriptors.
    const linesBefore = running.logs.length;
    const codes = await flood(running.mqttPort, 600, 50);
    // Nothing logged per connection (the summary comes at the end of its minute, or at shutdown).
    expect(running.logs.slice(linesBefore)).toEqual([]);
    expect(codes.filter((code) => code === 0).length).toBe(199);
    expect(codes.every((code) => code === 0 || code === 3 || code === -1)).toBe(true);
    expect(codes.filter((code) => code === 3).length).toBeGreaterThan(0);

    // While the 199 stay connected, services are served: 20 requests at once, each with valid work.
    const answers = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const hash = randomHash();
        const { json } = await postWork(running, {
          user: service.user,
          api_key: service.api_key,
          hash,
          timeout: 30,
        });
        return { hash, json };
      }),
    );
    for (const { hash, json } of answers) {
      expect(json.error, JSON.stringify(json)).toBeUndefined();
      expect(workValue(parseHash(hash), parseU64(json.work as string, "work"))).toBeGreaterThanOrEqual(
        parseU64(TEST_DIFFICULTY, "difficulty"),
      );
    }
    const upcheck = await fetch(running.url("/upcheck/"));
    expect(await upcheck.text()).toBe("up");

    expect(await running.stop()).toBe(0);
    // One summary line for all of them, not one per connection.
    const summaries = capLines(running, 200);
    expect(summaries.length).toBe(1);
    expect(summaries[0]?.refused).toBe(600 - 199);
    expect(summaries[0]?.closedUnanswered).toBe(codes.filter((code) => code !== 0 && code !== 3).length);
  });

  it("--mqtt-max-connections: the same cap for TCP and MQTT over WebSocket at /mqtt, refused with CONNACK 3", async () => {
    const { hub: running } = await hub(["--mqtt-max-connections", "3"]);
    const login = (url: string) =>
      mqtt.connectAsync(url, { username: "client", password: "client", reconnectPeriod: 0 }, false);
    const tcp = `mqtt://127.0.0.1:${running.mqttPort}`;
    const ws = `ws://127.0.0.1:${running.httpPort}/mqtt`;
    const open = [await login(tcp), await login(ws), await login(tcp)];
    cleanups.push(() => Promise.all(open.map((client) => client.endAsync(true))));

    for (const url of [ws, tcp]) {
      const refused = await login(url).then(
        (client) => client.endAsync(true).then(() => "accepted"),
        (err: { code?: unknown; message?: string }) => `${err.code}: ${err.message}`,
      );
      expect(refused).toMatch(/^3: .*Server unavailable/i);
    }
    expect(await metric(running, 'dpow_connections_refused_total{listener="mqtt",reason="cap"}')).toBe(2);
    // A place freed is a place taken.
    await open.pop()?.endAsync();
    await expect
      .poll(
        async () => {
          const { code, socket } = await attempt(running.mqttPort, "after");
          socket.destroy();
          return code;
        },
        { timeout: 10_000 },
      )
      .toBe(0);

    expect(await running.stop()).toBe(0);
    const summaries = capLines(running, 3);
    expect(summaries.length).toBe(1);
    expect(summaries[0]?.refused).toBeGreaterThanOrEqual(2);
  });

  it("--max-connections: HTTP connections past it are closed unread, /mqtt workers aside, one summary line", async () => {
    const { hub: running } = await hub(["--max-connections", "4", "--max-connections-per-ip", "0"]);
    // Three workers on /mqtt first: handed to the broker, whose own cap counts them.
    const ws = `ws://127.0.0.1:${running.httpPort}/mqtt`;
    const workers = await Promise.all(
      [1, 2, 3].map(() =>
        mqtt.connectAsync(ws, { username: "client", password: "client", reconnectPeriod: 0 }),
      ),
    );
    cleanups.push(() => Promise.all(workers.map((client) => client.endAsync(true))));
    /** Opens a connection and asks /upcheck/ on it: whether the hub served it (else it was closed unread). */
    const probe = async () => {
      const connection = await openTcp(running.httpPort);
      cleanups.push(() => connection.socket.destroy());
      const served = await new Promise<boolean>((resolve) => {
        connection.socket.once("data", () => resolve(true));
        connection.closed.then(() => resolve(false));
        connection.socket.write("GET /upcheck/ HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      return { connection, served };
    };
    const held: Array<Awaited<ReturnType<typeof openTcp>>> = [];
    for (;;) {
      const { connection, served } = await probe();
      if (!served) break;
      held.push(connection);
    }
    // Kept alive after their answer, four are held: the cap, with the three workers not in it.
    expect(held.length).toBe(4);
    // A place freed is a place taken (once the hub has seen the close).
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await expect
      .poll(
        async () => {
          const { connection, served } = await probe();
          if (!served) return false;
          connection.socket.destroy();
          return true;
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    for (const client of workers) expect(client.connected).toBe(true);
    // The metric counts them too. Its request is a connection of its own, served once the hub has
    // seen the last probe close (until then the cap may still be full and refuse it, too).
    const refusedHttp = () =>
      metric(running, 'dpow_connections_refused_total{listener="http",reason="cap"}').catch(() => -1);
    await expect.poll(refusedHttp, { timeout: 10_000 }).toBeGreaterThanOrEqual(1);

    expect(await running.stop()).toBe(0);
    const summaries = running.logs.filter((line) =>
      (line.msg ?? "").startsWith("HTTP connections refused (over the hub's cap of 4)"),
    );
    expect(summaries.length).toBe(1);
    expect(summaries[0]?.refused).toBeGreaterThanOrEqual(1);
  });
});
