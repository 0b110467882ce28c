import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD, toMultiplier } from "../../src/nano/difficulty.js";
import { formatU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { WorkPool } from "../../src/pow/pool.js";
import { RemoteWorkError, RpcBackend } from "../../src/pow/rpc-backend.js";
import { MAX_BENCHMARK_COUNT, SUPPORTED } from "../../src/pow/work-server/rpc.js";
import { MAX_BODY_BYTES, startWorkServer, type WorkServer } from "../../src/pow/work-server/server.js";

const EASY = "fff0000000000000";
const NEVER = "ffffffffffffffff";

let pool: WorkPool;
let server: WorkServer;

beforeAll(async () => {
  pool = await WorkPool.start({ threads: 2 });
  server = await startWorkServer(pool, "127.0.0.1", 0);
});
afterAll(async () => {
  await server.close();
  await pool.close();
});

async function post(body: unknown, raw?: string): Promise<{ status: number; json: Record<string, string> }> {
  const response = await fetch(server.url, { method: "POST", body: raw ?? JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, string> };
}

const hash = () => randomBytes(32).toString("hex").toUpperCase();
const mult = (d: bigint) => String(toMultiplier(d, SEND_THRESHOLD));

/** Resolves once the pool reports `generating` as wanted (polled through the RPC itself). */
async function statusUntil(generating: string): Promise<Record<string, string>> {
  for (;;) {
    const { json } = await post({ action: "status" });
    if (json.generating === generating) return json;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("work_generate", () => {
  test("returns work, its difficulty and multiplier", async () => {
    const h = hash();
    const { status, json } = await post({ action: "work_generate", hash: h, difficulty: EASY });
    expect(status).toBe(200);
    expect(Object.keys(json).sort()).toEqual(["difficulty", "multiplier", "work"]);
    const value = workValue(Buffer.from(h, "hex"), BigInt(`0x${json.work}`));
    expect(json.work).toMatch(/^[0-9a-f]{16}$/);
    expect(json.difficulty).toBe(formatU64(value));
    expect(json.multiplier).toBe(mult(value));
    expect(value >= BigInt(`0x${EASY}`)).toBe(true);
  });

  test("takes the multiplier (a string or a number) over the difficulty", async () => {
    for (const multiplier of ["0.0001", 0.0001]) {
      const h = hash();
      const { json } = await post({ action: "work_generate", hash: h, difficulty: NEVER, multiplier });
      expect(toMultiplier(BigInt(`0x${json.difficulty}`), SEND_THRESHOLD)).toBeGreaterThanOrEqual(0.0001);
      expect(workValue(Buffer.from(h, "hex"), BigInt(`0x${json.work}`))).toBe(BigInt(`0x${json.difficulty}`));
    }
  });

  test("a second request for a hash being computed joins that job instead of queueing", async () => {
    const h = hash();
    const first = post({ action: "work_generate", hash: h, difficulty: NEVER });
    const second = post({ action: "work_generate", hash: h, difficulty: NEVER });
    while (pool.waiting() < 2) await new Promise((resolve) => setImmediate(resolve));
    expect((await post({ action: "status" })).json).toEqual({ generating: "1", queue_size: "0" });
    await post({ action: "work_cancel", hash: h });
    expect((await first).json.error).toBe("Cancelled");
    expect((await second).json.error).toBe("Cancelled");
    await statusUntil("0");
  });

  test("answers Cancelled when work_cancel arrives for its hash", async () => {
    const h = hash();
    const pending = post({ action: "work_generate", hash: h, difficulty: NEVER });
    await statusUntil("1");
    expect(await post({ action: "work_cancel", hash: h })).toEqual({ status: 200, json: {} });
    const { status, json } = await pending;
    expect(status).toBe(200);
    expect(json.error).toBe("Cancelled");
    await statusUntil("0");
  });

  test("stops computing when its client hangs up", async () => {
    const req = request(server.url, { method: "POST" });
    req.on("error", () => {});
    req.end(JSON.stringify({ action: "work_generate", hash: hash(), difficulty: NEVER }));
    await statusUntil("1");
    req.destroy();
    expect(await statusUntil("0")).toEqual({ generating: "0", queue_size: "0" });
  });
});

describe("work_validate", () => {
  const h = hash();
  const root = Buffer.from(h, "hex");
  const work = 0x0123456789abcdefn;
  const value = workValue(root, work);

  test("reports valid_all, valid_receive, difficulty and multiplier", async () => {
    const { status, json } = await post({ action: "work_validate", hash: h, work: formatU64(work) });
    expect(status).toBe(200);
    expect(json).toEqual({
      valid_all: value >= SEND_THRESHOLD ? "1" : "0",
      valid_receive: value >= RECEIVE_THRESHOLD ? "1" : "0",
      difficulty: formatU64(value),
      multiplier: mult(value),
    });
  });

  test("adds valid when a difficulty or multiplier is given", async () => {
    const at = (d: bigint) =>
      post({ action: "work_validate", hash: h, work: formatU64(work), difficulty: formatU64(d) });
    expect((await at(value)).json.valid).toBe("1");
    expect((await at(value + 1n)).json.valid).toBe("0");
    const byMultiplier = await post({
      action: "work_validate",
      hash: h,
      work: formatU64(work),
      multiplier: "1e-9",
    });
    expect(byMultiplier.json.valid).toBe("1");
  });

  test("accepts short work hex, zero-extended like nano-work-server", async () => {
    const { json } = await post({ action: "work_validate", hash: h, work: "abcd" });
    expect(json.difficulty).toBe(formatU64(workValue(root, 0xabcdn)));
  });
});

describe("benchmark and status", () => {
  test("benchmark reports average, count, difficulty, duration, hint and multiplier", async () => {
    const { status, json } = await post({ action: "benchmark", count: "3", difficulty: EASY });
    expect(status).toBe(200);
    expect(Object.keys(json).sort()).toEqual([
      "average",
      "count",
      "difficulty",
      "duration",
      "hint",
      "multiplier",
    ]);
    expect(json).toMatchObject({
      count: "3",
      difficulty: EASY,
      hint: "Times in milliseconds",
      multiplier: mult(0xfff0000000000000n),
    });
    expect(Number(json.average)).toBe(Math.floor(Number(json.duration) / 3));
  });

  test("status reports generating and queue_size (also as work_server_status)", async () => {
    const h1 = hash();
    const h2 = hash();
    const first = post({ action: "work_generate", hash: h1, difficulty: NEVER });
    const second = post({ action: "work_generate", hash: h2, difficulty: NEVER });
    let json = await statusUntil("1");
    while (json.queue_size !== "1") json = (await post({ action: "work_server_status" })).json;
    expect(json).toEqual({ generating: "1", queue_size: "1" });
    await post({ action: "work_cancel", hash: h1 });
    await post({ action: "work_cancel", hash: h2 });
    expect((await first).json.error).toBe("Cancelled");
    expect((await second).json.error).toBe("Cancelled");
    expect(await statusUntil("0")).toEqual({ generating: "0", queue_size: "0" });
  });
});

describe("errors", () => {
  const cases: [string, unknown, { error: string; hint: string }][] = [
    ["no action", { hash: hash() }, { error: "Failed to deserialize JSON", hint: "Action field missing" }],
    [
      "unknown action",
      { action: "pow" },
      { error: "Unknown command", hint: `Supported commands: ${SUPPORTED}` },
    ],
    ["not an object", [1, 2], { error: "Failed to deserialize JSON", hint: "Expecting a JSON object" }],
    [
      "no hash",
      { action: "work_generate" },
      { error: "Failed to deserialize JSON", hint: "Hash field missing" },
    ],
    [
      "hash not a string",
      { action: "work_cancel", hash: 5 },
      { error: "Bad block hash", hint: "Expecting a hex string" },
    ],
    [
      "hash not hex",
      { action: "work_generate", hash: "zz".repeat(32) },
      { error: "Bad block hash", hint: "Expecting a hex string" },
    ],
    [
      "hash empty",
      { action: "work_generate", hash: "" },
      { error: "Bad block hash", hint: "Hash is empty. Expecting a hex string" },
    ],
    [
      "hash short",
      { action: "work_generate", hash: "ab" },
      { error: "Bad block hash", hint: "Hash is too short (should be 32 bytes)" },
    ],
    [
      "hash long",
      { action: "work_generate", hash: "ab".repeat(33) },
      { error: "Bad block hash", hint: "Hash is too long (should be 32 bytes)" },
    ],
    [
      "difficulty not a string",
      { action: "work_generate", hash: hash(), difficulty: 5 },
      { error: "Failed to deserialize JSON", hint: "Expecting a hex string for difficulty" },
    ],
    [
      "difficulty not hex",
      { action: "work_generate", hash: hash(), difficulty: "fffffff80000000g" },
      {
        error: "Failed to deserialize JSON",
        hint: "Threshold not a valid unsigned long (u64). Example: 'fffffff800000000'",
      },
    ],
    [
      "multiplier not positive",
      { action: "work_generate", hash: hash(), multiplier: "-1" },
      { error: "Failed to deserialize JSON", hint: "Expecting a positive number for multiplier" },
    ],
    [
      "work missing",
      { action: "work_validate", hash: hash() },
      { error: "Failed to deserialize JSON", hint: "Work field missing" },
    ],
    [
      "work not hex",
      { action: "work_validate", hash: hash(), work: "xyz" },
      { error: "Failed to deserialize JSON", hint: "Expecting a hex string for work" },
    ],
    [
      "work empty",
      { action: "work_validate", hash: hash(), work: "" },
      { error: "Failed to deserialize JSON", hint: "Work is empty. Expecting a hex string" },
    ],
    [
      "work long",
      { action: "work_validate", hash: hash(), work: "00".repeat(9) },
      { error: "Failed to deserialize JSON", hint: "Work is too long (should be 8 bytes)" },
    ],
    [
      "count missing",
      { action: "benchmark" },
      { error: "Failed to deserialize JSON", hint: "count field missing" },
    ],
    [
      "count zero",
      { action: "benchmark", count: "0" },
      { error: "Failed to deserialize JSON", hint: "Expecting a positive number for count" },
    ],
    [
      "count too large",
      { action: "benchmark", count: MAX_BENCHMARK_COUNT + 1 },
      { error: "Failed to deserialize JSON", hint: `count must be at most ${MAX_BENCHMARK_COUNT}` },
    ],
  ];

  test.each(cases)("%s: HTTP 400 with error and hint", async (_, body, reply) => {
    expect(await post(body)).toEqual({ status: 400, json: reply });
  });

  test("bad JSON is a 400, and the server keeps serving", async () => {
    for (const raw of ["{", "", "nul", '{"action": "status"']) {
      expect(await post(undefined, raw)).toEqual({
        status: 400,
        json: { error: "Failed to deserialize JSON", hint: "the body is not valid JSON" },
      });
    }
    expect((await post({ action: "status" })).status).toBe(200);
  });

  test("only POST is served", async () => {
    const response = await fetch(server.url);
    expect(response.status).toBe(405);
    expect(await response.json()).toEqual({ error: "Can only POST requests", hint: "POST a JSON RPC body" });
  });

  test("bodies over the limit are refused", async () => {
    const { status, json } = await post(undefined, " ".repeat(MAX_BODY_BYTES + 1));
    expect(status).toBe(413);
    expect(json.error).toBe("Request too large");
  });
});

describe("rpc backend", () => {
  test("gets valid work from a work server", async () => {
    const backend = new RpcBackend(server.url);
    const root = randomBytes(32);
    const { work, value } = await backend.generate(root, 0xfff0000000000000n);
    expect(value).toBe(workValue(root, work));
    expect(value >= 0xfff0000000000000n).toBe(true);
    await backend.close();
  });

  test("abort rejects with AbortError and cancels the work on the server", async () => {
    const backend = new RpcBackend(server.url);
    const abort = new AbortController();
    const job = backend.generate(randomBytes(32), U64_MAX_BIGINT, { signal: abort.signal });
    await statusUntil("1");
    abort.abort();
    await expect(job).rejects.toMatchObject({ name: "AbortError" });
    await statusUntil("0");
  });

  test("rejects invalid work, server errors and unreachable servers", async () => {
    const replies: unknown[] = [
      { work: "0000000000000000", difficulty: "ffffffffffffffff" },
      { error: "Busy" },
      "oops",
    ];
    const fake = createServer((_, res) => res.end(JSON.stringify(replies.shift())));
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const backend = new RpcBackend(url);
    const root = new Uint8Array(32);
    await expect(backend.generate(root, U64_MAX_BIGINT)).rejects.toThrow(/invalid work 0000000000000000/);
    await expect(backend.generate(root, U64_MAX_BIGINT)).rejects.toThrow(/refused work_generate: Busy/);
    await expect(backend.generate(root, U64_MAX_BIGINT)).rejects.toThrow(/not a JSON object/);
    await new Promise((resolve) => fake.close(resolve));
    await expect(backend.generate(root, U64_MAX_BIGINT)).rejects.toBeInstanceOf(RemoteWorkError);
  });
});

const U64_MAX_BIGINT = (1n << 64n) - 1n;
