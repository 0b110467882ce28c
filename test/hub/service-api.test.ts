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
  it("answers each kind of bad request with HTTP 200 and its own error, beginning with the original's text", async () => {
    const hash = randomHash();
    const cases: Array<[unknown, RegExp]> = [
      ["{not json", /^Bad request \(not json\)$/],
      ["42", /^Bad request \(not json\): expected a JSON object/],
      [{ ...svc, api_key: "wrong", hash }, /^Invalid credentials: /],
      [{ user: "nobody", api_key: "x", hash }, /^Invalid credentials: /],
      // Credentials first: without a key nothing else is said.
      [{ user: "nobody", api_key: "x", hash: "bad" }, /^Invalid credentials: /],
      [{ ...svc }, /^Incorrect submission\. Required information: user, api_key, hash: hash is missing/],
      [{ ...svc, hash: 5 }, /^Invalid hash: hash must be a string/],
      [{ ...svc, hash: "G".repeat(64) }, /^Invalid hash: must be exactly 64 hex/],
      [
        { ...svc, hash, account: "nano_3t6k35gi95xu6tergt6p69ck76ogmitsa8mnijtpxm9fkcm736xtoncuohr4" },
        /^Invalid account: not a valid Nano address: .*checksum/,
      ],
      [{ ...svc, hash, difficulty: "ffff" }, /^Invalid difficulty: must be exactly 16 hex/],
      [{ ...svc, hash, multiplier: 0 }, /^Multiplier must be a float: must be greater than 0/],
      [
        { ...svc, hash, multiplier: 1000 },
        /^Difficulty too high\. Maximum: fe00000000000000 \( 8 multiplier \)/,
      ],
      [{ ...svc, hash, timeout: 60 }, /^Timeout must be an integer between 1 and 30: at most 30 seconds/],
      [{ ...svc, hash, timeout: [] }, /^Timeout must be an integer between 1 and 30/],
      [
        { ...svc, user: ["x"], hash },
        /^Incorrect submission\. Required information: user, api_key, hash: user must be a string/,
      ],
    ];
    for (const [body, error] of cases) {
      const answer = await postWork(hub, body);
      expect(answer.status, JSON.stringify(body)).toBe(200);
      expect(answer.json.error, JSON.stringify(body)).toMatch(error);
      expect(Object.keys(answer.json).sort()).toEqual(["error"]);
    }
    expect((await fetch(hub.url("/upcheck/"))).status).toBe(200);
  });

  it("echoes the id on errors, refuses one too long to echo, and ignores unknown fields such as action", async () => {
    expect((await postWork(hub, { ...svc, hash: "00", id: 3 })).json).toMatchObject({ id: 3 });
    expect((await postWork(hub, { ...svc, hash: randomHash(), id: "x".repeat(3000) })).json).toEqual({
      error: expect.stringMatching(/^Invalid id: at most 256 characters/),
    });
    const hash = randomHash();
    const answer = await postWork(hub, { action: "work_generate", ...svc, hash, id: "abc", extra: { x: 1 } });
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ hash, id: "abc" });
  });

  it("takes a fractional or string timeout as the original's int() did", async () => {
    // Long enough that the worker's answer is not raced by a stalled machine.
    for (const timeout of [10.5, "10", "12.9"]) {
      const hash = randomHash();
      const answer = await postWork(hub, { ...svc, hash, timeout });
      expect(answer.json, String(timeout)).toMatchObject({ hash });
    }
  });

  it("refuses a body that is too large without reading it all", async () => {
    const answer = await postWork(
      hub,
      JSON.stringify({ ...svc, hash: randomHash(), pad: "x".repeat(100_000) }),
    );
    expect(answer.status).toBe(200);
    expect(answer.json.error).toMatch(/too large/);
  });

  it("answers GET /service/ with 405 and /upcheck/blocks/ without precache with 503, both in JSON", async () => {
    const get = await fetch(hub.url("/service/"));
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    expect(((await get.json()) as { error: string }).error).toMatch(/^Use POST \/service\//);
    const blocks = await fetch(hub.url("/upcheck/blocks/"));
    expect(blocks.status).toBe(503);
    expect(((await blocks.json()) as { error: string }).error).toMatch(/precache is off/);
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
    const errors: unknown[] = [];
    for (let i = 0; i < 4; i++)
      errors.push((await postWork(hub, { ...slow, hash: randomHash() })).json.error);
    expect(errors).toEqual([
      undefined,
      undefined,
      expect.stringMatching(/^Throttled/),
      expect.stringMatching(/^Throttled/),
    ]);
    const throttled = await postWork(hub, { ...slow, hash: randomHash(), id: 1 });
    expect(throttled.json.error).toMatch(/^Throttled: service "slow" may make 0.001 requests\/s \(burst 2\)/);
    // Another service is not affected.
    expect((await postWork(hub, { ...svc, hash: randomHash() })).json.error).toBeUndefined();
  });
});

describe("operator CLI while the server runs", () => {
  it("sees services added, re-keyed, changed and deleted", async () => {
    const added = addService("live");
    const hash = randomHash();
    expect((await postWork(hub, { ...added, hash })).json.work).toBeDefined();
    const rotated = JSON.parse(cli("service", "rotate-key", "live", "--json").stdout) as { api_key: string };
    await untilError({ ...added, hash }, /^Invalid credentials/);
    expect((await postWork(hub, { ...added, api_key: rotated.api_key, hash })).json.work).toBeDefined();
    cli("service", "update", "live", "--rate", "0.001", "--burst", "1");
    await untilError({ ...added, api_key: rotated.api_key, hash }, /^Throttled/);
    cli("service", "delete", "live");
    await untilError({ ...added, api_key: rotated.api_key, hash }, /^Invalid credentials/);
    const stats = JSON.parse(cli("service", "stats", "api", "--json").stdout) as Record<string, number>;
    expect(stats.ondemand).toBeGreaterThan(0);
  });
});

/** Repeats a request until its error matches (the hub re-reads services within seconds). */
async function untilError(body: unknown, error: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (error.test(String((await postWork(hub, body)).json.error))) return;
    if (Date.now() > deadline) throw new Error(`never got error ${error}`);
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
    // One worker solves the 100 in turn: each gets the longest timeout, not the default 5 s.
    for (const [i, hash] of hashes.entries()) ws.send(JSON.stringify({ ...svc, hash, id: i, timeout: 30 }));
    ws.send("not json");
    ws.send(JSON.stringify({ ...svc, hash: "bad", id: "bad" }));
    await all;
    hashes.forEach((hash, i) => {
      const answer = answers.get(i) as Record<string, unknown>;
      expect(answer.hash).toBe(hash);
      expect(workValue(parseHash(hash), parseU64(answer.work, "work")) >= BASE).toBe(true);
    });
    expect(answers.get(undefined)?.error).toBe("Bad request (not json)");
    expect(answers.get("bad")?.error).toMatch(/^Invalid hash: must be/);
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
