import { join } from "node:path";
import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, TEST_DIFFICULTY, tempDir } from "../helpers/hub-process.js";

const BASE = parseU64(TEST_DIFFICULTY, "base");
const temp = tempDir();
const db = join(temp.dir, "hub.db");
let hub: HubProcess;
let worker: FakeWorker;
let svc: { user: string; api_key: string };

function cli(...args: string[]) {
  const result = runCli([...args, "--db", db]);
  expect(result.status, result.stderr).toBe(0);
  return result;
}

const addService = (name: string, ...flags: string[]) =>
  JSON.parse(cli("service", "add", name, "--json", ...flags).stdout) as { user: string; api_key: string };

beforeAll(async () => {
  svc = addService("api", "--rate", "0");
  hub = await spawnHub(db);
  worker = await FakeWorker.connect(hub.mqttPort, { auto: true });
});

afterAll(async () => {
  await worker?.close();
  await hub?.stop();
  temp.remove();
});

describe("service API errors", () => {
  it("gives each kind of bad request its own clear error, and never crashes", async () => {
    const hash = randomHash();
    const cases: Array<[unknown, number, RegExp]> = [
      ["{not json", 400, /^Bad request \(not json\)$/],
      ["42", 400, /expected a JSON object/],
      [{ ...svc, api_key: "wrong", hash }, 401, /^Wrong credentials/],
      [{ user: "nobody", api_key: "x", hash }, 401, /^Wrong credentials/],
      [{ ...svc, hash: 5 }, 400, /^hash is missing or not a string/],
      [{ ...svc, hash: "G".repeat(64) }, 400, /^hash must be exactly 64 hex/],
      [
        { ...svc, hash, account: "nano_3t6k35gi95xu6tergt6p69ck76ogmitsa8mnijtpxm9fkcm736xtoncuohr4" },
        400,
        /^account is not a valid Nano address: .*checksum/,
      ],
      [{ ...svc, hash, difficulty: "ffff" }, 400, /^difficulty must be exactly 16 hex/],
      [{ ...svc, hash, multiplier: 0 }, 400, /^difficulty out of range/],
      [{ ...svc, hash, timeout: 60 }, 400, /^timeout must be at most 30 seconds/],
      [{ ...svc, hash, timeout: [] }, 400, /^timeout must be a whole number/],
      [{ ...svc, user: ["x"], hash }, 400, /^user is missing or not a string/],
    ];
    for (const [body, status, error] of cases) {
      const answer = await postWork(hub, body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.json.error, JSON.stringify(body)).toMatch(error);
      expect(Object.keys(answer.json).sort()).toEqual(["error"]);
    }
    expect((await fetch(hub.url("/upcheck/"))).status).toBe(200);
  });

  it("echoes the id on errors and ignores unknown fields such as action", async () => {
    expect((await postWork(hub, { ...svc, hash: "00", id: 3 })).json).toMatchObject({ id: 3 });
    const hash = randomHash();
    const answer = await postWork(hub, { action: "work_generate", ...svc, hash, id: "abc", extra: { x: 1 } });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ hash, id: "abc" });
  });

  it("refuses a body that is too large without reading it all", async () => {
    const answer = await postWork(
      hub,
      JSON.stringify({ ...svc, hash: randomHash(), pad: "x".repeat(100_000) }),
    );
    expect(answer.status).toBe(413);
    expect(answer.json.error).toMatch(/too large/);
  });

  it("clamps a difficulty above the hub's maximum and says so in a hint", async () => {
    const hash = randomHash();
    const answer = await postWork(hub, { ...svc, hash, multiplier: 1000 });
    expect(answer.json.hint).toMatch(/lowered to fe00000000000000/);
    const value = workValue(parseHash(hash), parseU64(answer.json.work, "work"));
    expect(value >= 0xfe00000000000000n).toBe(true);
    expect(Number(answer.json.multiplier)).toBeCloseTo(Number(2n ** 64n - BASE) / Number(2n ** 64n - value));
  });

  it("answers unknown paths with 404 and serves /upcheck/ and /metrics", async () => {
    expect((await fetch(hub.url("/nope"))).status).toBe(404);
    expect(await (await fetch(hub.url("/upcheck/"))).text()).toBe("up");
    const metrics = await (await fetch(hub.url("/metrics"))).text();
    for (const name of [
      "dpow_requests_total",
      "dpow_request_duration_seconds",
      "dpow_workers_connected",
      "dpow_open_jobs",
      "dpow_results_total",
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/dpow_workers_connected [1-9]/);
  });
});

describe("rate limiting", () => {
  it("throttles a service past its burst, per service", async () => {
    const slow = addService("slow", "--rate", "0.001", "--burst", "2");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await postWork(hub, { ...slow, hash: randomHash() })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const throttled = await postWork(hub, { ...slow, hash: randomHash(), id: 1 });
    expect(throttled.json.error).toMatch(/^Throttled: service "slow" may make 0.001 requests\/s \(burst 2\)/);
    // Another service is not affected.
    expect((await postWork(hub, { ...svc, hash: randomHash() })).status).toBe(200);
  });
});

describe("operator CLI while the server runs", () => {
  it("sees services added, re-keyed, changed and deleted", async () => {
    const added = addService("live");
    const hash = randomHash();
    expect((await postWork(hub, { ...added, hash })).status).toBe(200);
    const rotated = JSON.parse(cli("service", "rotate-key", "live", "--json").stdout) as { api_key: string };
    await untilStatus({ ...added, hash }, 401);
    expect((await postWork(hub, { ...added, api_key: rotated.api_key, hash })).status).toBe(200);
    cli("service", "update", "live", "--rate", "0.001", "--burst", "1");
    await untilStatus({ ...added, api_key: rotated.api_key, hash }, 429);
    cli("service", "delete", "live");
    await untilStatus({ ...added, api_key: rotated.api_key, hash }, 401);
    const stats = JSON.parse(cli("service", "stats", "api", "--json").stdout) as Record<string, number>;
    expect(stats.ondemand).toBeGreaterThan(0);
  });
});

/** Repeats a request until it gets `status` (the hub re-reads services within seconds). */
async function untilStatus(body: unknown, status: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if ((await postWork(hub, body)).status === status) return;
    if (Date.now() > deadline) throw new Error(`never got status ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("WebSocket API", () => {
  it("answers 100 concurrent requests on one socket, each with its id", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/service_ws/`);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const hashes = Array.from({ length: 100 }, () => randomHash());
    const answers = new Map<unknown, Record<string, unknown>>();
    const all = new Promise<void>((resolve) =>
      ws.on("message", (data) => {
        const answer = JSON.parse(data.toString()) as Record<string, unknown>;
        answers.set(answer.id, answer);
        if (answers.size === hashes.length + 2) resolve();
      }),
    );
    for (const [i, hash] of hashes.entries()) ws.send(JSON.stringify({ ...svc, hash, id: i }));
    ws.send("not json");
    ws.send(JSON.stringify({ ...svc, hash: "bad", id: "bad" }));
    await all;
    hashes.forEach((hash, i) => {
      const answer = answers.get(i) as Record<string, unknown>;
      expect(answer.hash).toBe(hash);
      expect(workValue(parseHash(hash), parseU64(answer.work, "work")) >= BASE).toBe(true);
    });
    expect(answers.get(undefined)?.error).toBe("Bad request (not json)");
    expect(answers.get("bad")?.error).toMatch(/^hash must be/);
    ws.close();
  });

  it("serves MQTT over WebSocket at /mqtt on the same port (workers behind HTTP-only proxies)", async () => {
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${hub.httpPort}/mqtt`, {
      username: "client",
      password: "client",
      reconnectPeriod: 0,
    });
    try {
      const heartbeat = new Promise<string>((resolve) => client.once("message", (topic) => resolve(topic)));
      await client.subscribeAsync("heartbeat");
      expect(await heartbeat).toBe("heartbeat");
    } finally {
      await client.endAsync(true);
    }
  });

  it("refuses WebSocket upgrades on unknown paths", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/elsewhere`);
    await expect(
      new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject)),
    ).rejects.toThrow(/404/);
  });
});
