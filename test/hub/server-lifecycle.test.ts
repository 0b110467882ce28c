import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { DPOW_BIN, runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir, waitForMetric } from "../helpers/hub-process.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function temp(): string {
  const t = tempDir();
  cleanups.push(t.remove);
  return join(t.dir, "hub.db");
}

async function hubOn(db: string, args: string[] = []): Promise<HubProcess> {
  const hub = await spawnHub(db, args);
  cleanups.push(() => hub.stop());
  return hub;
}

function addService(db: string, name: string, ...flags: string[]): { user: string; api_key: string } {
  const added = runCli(["service", "add", name, "--json", "--db", db, ...flags]);
  expect(added.status, added.stderr).toBe(0);
  return JSON.parse(added.stdout) as { user: string; api_key: string };
}

/** A TCP port held by someone else for the duration of the test. */
async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as { port: number }).port;
}

async function retainedStatistics(mqttPort: number): Promise<unknown> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
    username: "client",
    password: "client",
    reconnectPeriod: 0,
  });
  try {
    const message = new Promise<Buffer>((resolve) =>
      client.once("message", (_topic, payload) => resolve(payload)),
    );
    await client.subscribeAsync("statistics");
    return JSON.parse((await message).toString()) as unknown;
  } finally {
    await client.endAsync(true);
  }
}

describe("dpow server lifecycle", () => {
  it("keeps services, credits and statistics across a restart", async () => {
    const db = temp();
    const svc = addService(
      db,
      "keeper",
      "--public",
      "--display",
      "Keeper",
      "--website",
      "https://keeper.example",
    );
    let hub = await hubOn(db);
    const worker = await FakeWorker.connect(hub.mqttPort, { auto: true });
    for (let i = 0; i < 3; i++)
      expect((await postWork(hub, { ...svc, hash: randomHash() })).status).toBe(200);
    await worker.waitForFeedback("third reward", (f) => f.ondemand === 3);
    await worker.close();
    expect(await hub.stop()).toBe(0);

    hub = await hubOn(db);
    expect((await postWork(hub, { ...svc, hash: "zz" })).json.error).toMatch(/^Invalid hash/);
    const stats = await retainedStatistics(hub.mqttPort);
    expect(stats).toEqual({
      services: {
        public: [{ display: "Keeper", website: "https://keeper.example", precache: 0, ondemand: 3 }],
        private: { count: 0, precache: 0, ondemand: 0 },
      },
      work: { precache: 0, ondemand: 3 },
    });
    const ledger = new SqliteLedger(db);
    cleanups.push(() => ledger.close());
    expect(await ledger.workerCounters(worker.payout)).toEqual({ precache: 0, ondemand: 3 });
    const json = runCli(["service", "stats", "keeper", "--json", "--db", db]);
    expect(JSON.parse(json.stdout)).toMatchObject({ precache: 0, ondemand: 3 });
  });

  it("answers in-flight requests cleanly on SIGTERM and exits 0", async () => {
    const db = temp();
    const svc = addService(db, "patient");
    const hub = await hubOn(db);
    const pending = postWork(hub, { ...svc, hash: randomHash(), timeout: 30, id: 9 });
    await waitForMetric(hub, "dpow_waiting_requests", (v) => v === 1);
    const exit = hub.stop("SIGTERM");
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ error: "The hub is shutting down; retry in a moment", id: 9 });
    expect(await exit).toBe(0);
    expect(hub.logs.some((l) => l.msg === "stopped")).toBe(true);
  });

  it("refuses a taken port with a message naming the flag", async () => {
    const db = temp();
    const taken = await occupiedPort();
    const http = runCli(["server", "--port", String(taken), "--mqtt-port", "0", "--db", db]);
    expect(http.status).toBe(2);
    expect(http.stderr.trim()).toBe(
      `dpow: HTTP port ${taken} is already in use; choose another with --port PORT (0 picks a free one)`,
    );
    const broker = runCli(["server", "--port", "0", "--mqtt-port", String(taken), "--db", db]);
    expect(broker.status).toBe(2);
    expect(broker.stderr).toMatch(new RegExp(`MQTT port ${taken} is already in use.*--mqtt-port`));
  });

  it("refuses bad flags with one-line errors", () => {
    for (const [args, error] of [
      [["--port", "99999"], /--port must be a port number/],
      [["--difficulty", "xyz"], /--difficulty must be exactly 16 hex/],
      [["--difficulty", "ffff000000000000", "--network", "dev"], /not both/],
      [["--max-multiplier", "0.5"], /--max-multiplier must be a number >= 1/],
      [["--network", "test"], /Allowed choices are live, dev/],
    ] as const) {
      const result = runCli(["server", ...args, "--db", ":memory:"]);
      expect(result.status, result.stderr).not.toBe(0);
      expect(result.stderr).toMatch(error);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

/** `dpow start ARGS` with its stdout lines, once it has printed its banner; stopped after the test. */
async function startDemo(args: string[]): Promise<{
  banner: string;
  lines: string[];
  stop: (signal: NodeJS.Signals) => Promise<number | null>;
}> {
  const child = spawn(process.execPath, [DPOW_BIN, "start", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  // "close", not "exit": its output is then read to the end.
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const stop = (signal: NodeJS.Signals) => {
    child.kill(signal);
    return exited;
  };
  cleanups.push(() => stop("SIGTERM"));
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner: ${lines.join("\n")}`)), 20_000);
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line);
      if (line.startsWith("Stop with Ctrl-C")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return { banner: lines.join("\n"), lines, stop };
}

/** The demo's ready-to-paste request: its URL and body. */
function demoRequest(banner: string): { url: string; body: string } {
  const [, url, body] = /curl -s (\S+) -d '(.+)'$/m.exec(banner) as RegExpExecArray;
  return { url: url as string, body: body as string };
}

describe("dpow start (all-in-one)", () => {
  it("takes free ports when its defaults are taken, and serves valid work from its local worker", async () => {
    const db = temp();
    const [http, mqttPort] = [await occupiedPort(), await occupiedPort()];
    const demo = await startDemo(["--port", String(http), "--mqtt-port", String(mqttPort), "--db", db]);
    const { banner } = demo;
    expect(banner).toMatch(/development difficulty ffff000000000000/);
    expect(banner).toMatch(new RegExp(`port ${http} was taken`));
    expect(banner).toMatch(new RegExp(`port ${mqttPort} was taken`));
    const broker = /MQTT broker\s+mqtt:\/\/(127\.0\.0\.1:\d+)/.exec(banner)?.[1];
    expect(banner).toContain(
      `npx dpow worker --payout YOUR_NANO_ADDRESS --server mqtt://client:client@${broker}`,
    );
    // The dashboard's and the browser worker's URLs, on the port it took.
    const dashboard = /dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(banner)?.[1] as string;
    expect(dashboard, banner).toBeDefined();
    expect(banner).toMatch(new RegExp(`web worker\\s+${dashboard}worker`));
    expect((await fetch(dashboard)).status).toBe(200);
    expect((await fetch(`${dashboard}api/v1/summary`)).status).toBe(200);
    const { url, body } = demoRequest(banner);
    const response = await fetch(url, { method: "POST", body });
    const json = (await response.json()) as Record<string, string>;
    const { hash } = JSON.parse(body) as { hash: string };
    expect(json.hash, JSON.stringify(json)).toBe(hash);
    expect(workValue(parseHash(hash), parseU64(json.work, "work")) >= 0xffff000000000000n).toBe(true);
    expect(await demo.stop("SIGTERM")).toBe(0);
  });

  it("keeps the demo key across restarts until it is rotated, and says it stopped on Ctrl-C", async () => {
    const db = temp();
    const args = ["--port", "0", "--mqtt-port", "0", "--db", db];
    const apiKey = (banner: string) => /api_key (\S+)/.exec(banner)?.[1];

    const first = await startDemo(args);
    const firstKey = apiKey(first.banner);
    expect(first.banner).toContain(`kept in ${db}.demo-key`);
    expect(statSync(`${db}.demo-key`).mode & 0o777).toBe(0o600);
    expect(await first.stop("SIGINT")).toBe(0);
    expect(first.lines.slice(-2)).toEqual(["stopping…", "stopped"]);

    // The first start's curl still works against the second.
    const second = await startDemo(args);
    expect(apiKey(second.banner)).toBe(firstKey);
    const { body } = demoRequest(first.banner);
    const response = await fetch(demoRequest(second.banner).url, { method: "POST", body });
    expect(((await response.json()) as { work?: string }).work).toMatch(/^[0-9a-f]{16}$/);
    expect(await second.stop("SIGTERM")).toBe(0);

    // A key rotated by the operator no longer matches the file: the next start replaces both.
    expect(runCli(["service", "rotate-key", "demo", "--db", db]).status).toBe(0);
    const third = await startDemo(args);
    const thirdKey = apiKey(third.banner);
    expect(thirdKey).not.toBe(firstKey);
    expect(readFileSync(`${db}.demo-key`, "utf8").trim()).toBe(thirdKey);
  });
});
