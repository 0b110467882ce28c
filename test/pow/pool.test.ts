import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { U64_MAX } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { CpuBackend } from "../../src/pow/cpu-backend.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { generateWork } from "../../src/pow/index.js";
import { WorkCancelledError, WorkPool } from "../../src/pow/pool.js";
import { RpcBackend } from "../../src/pow/rpc-backend.js";

/** Difficulties that take from a few hundred hashes to about a million: milliseconds each. */
const DIFFICULTIES = [0xff00000000000000n, 0xfff0000000000000n, 0xffff000000000000n, 0xfffff00000000000n];

describe.each(["native", "wasm"] as const)("pool on the %s engine", (engine) => {
  let pool: WorkPool;
  beforeAll(async () => {
    pool = await WorkPool.start({ engine, threads: 2 });
  });
  afterAll(() => pool.close());

  test("runs the engine it was asked for", () => {
    expect(pool.kernel.startsWith(engine)).toBe(true);
    expect(pool.threads).toBe(2);
  });

  test.each(DIFFICULTIES)("finds work nano/ accepts at %s", async (threshold) => {
    const root = randomBytes(32);
    const { work, value } = await pool.generate(root, threshold);
    expect(workValue(root, work)).toBe(value);
    expect(value >= threshold).toBe(true);
  });

  test("queues concurrent jobs and answers each with valid work", async () => {
    const roots = Array.from({ length: 6 }, () => randomBytes(32));
    const results = roots.map((r) => pool.generate(r, 0xfff0000000000000n));
    expect(pool.status().generating).toBe(true);
    const found = await Promise.all(results);
    found.forEach(({ work }, i) => {
      expect(workValue(roots[i] as Uint8Array, work) >= 0xfff0000000000000n).toBe(true);
    });
    await pool.idle();
    expect(pool.status()).toEqual({ generating: false, queued: 0 });
  });
});

describe("pool jobs", () => {
  let pool: WorkPool;
  beforeAll(async () => {
    pool = await WorkPool.start({ threads: 2 });
  });
  afterAll(() => pool.close());

  test("a second request for a root being computed shares its result", async () => {
    const root = randomBytes(32);
    const [a, b] = await Promise.all([
      pool.generate(root, 0xffff000000000000n),
      pool.generate(root, 0xfff0000000000000n), // easier: the first job's work satisfies it too
    ]);
    expect(b).toEqual(a);
  });

  test("cancel by root rejects every request for it and leaves the pool idle", async () => {
    const root = randomBytes(32);
    const first = pool.generate(root, U64_MAX);
    const second = pool.generate(root, U64_MAX);
    const other = pool.generate(randomBytes(32), 0xff00000000000000n);
    expect(pool.status()).toEqual({ generating: true, queued: 1 });
    expect(pool.cancel(root)).toBe(1);
    await expect(first).rejects.toBeInstanceOf(WorkCancelledError);
    await expect(second).rejects.toBeInstanceOf(WorkCancelledError);
    await other; // the queue moves on
    await pool.idle();
    expect(pool.status()).toEqual({ generating: false, queued: 0 });
  });

  test("cancelling a queued job removes it without touching the running one", async () => {
    const running = randomBytes(32);
    const queued = randomBytes(32);
    const a = pool.generate(running, U64_MAX);
    const b = pool.generate(queued, U64_MAX);
    expect(pool.cancel(queued)).toBe(1);
    await expect(b).rejects.toBeInstanceOf(WorkCancelledError);
    expect(pool.status()).toEqual({ generating: true, queued: 0 });
    pool.cancel(running);
    await expect(a).rejects.toBeInstanceOf(WorkCancelledError);
    await pool.idle();
  });

  test("an abort signal stops the search for that request only", async () => {
    const root = randomBytes(32);
    const alone = new AbortController();
    const shared = new AbortController();
    const a = pool.generate(root, 0xffffff0000000000n, { signal: alone.signal });
    const b = pool.generate(root, 0xffffff0000000000n, { signal: shared.signal });
    alone.abort();
    await expect(a).rejects.toMatchObject({ name: "AbortError" });
    const { work } = await b; // the other requester still gets its work
    expect(workValue(root, work) >= 0xffffff0000000000n).toBe(true);
  });

  test("aborting the only requester stops the threads", async () => {
    const abort = new AbortController();
    const job = pool.generate(randomBytes(32), U64_MAX, { signal: abort.signal });
    abort.abort();
    await expect(job).rejects.toMatchObject({ name: "AbortError" });
    await pool.idle();
    expect(pool.status()).toEqual({ generating: false, queued: 0 });
  });

  test("an already aborted signal rejects at once", async () => {
    await expect(pool.generate(randomBytes(32), 0n, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: "AbortError",
    });
  });

  test("counts the hashes its threads did", async () => {
    const before = pool.hashesDone;
    await pool.generate(randomBytes(32), 0xffff000000000000n);
    await pool.idle();
    expect(pool.hashesDone).toBeGreaterThan(before);
  });
});

describe("pool lifecycle", () => {
  test("close rejects pending requests and refuses new ones", async () => {
    const pool = await WorkPool.start({ threads: 1, engine: "wasm" });
    const pending = expect(pool.generate(randomBytes(32), U64_MAX)).rejects.toThrow(/closed/);
    await pool.close();
    await pending;
    await expect(pool.generate(randomBytes(32), 0n)).rejects.toThrow(/closed/);
  });

  test("rejects a thread count below one", async () => {
    await expect(WorkPool.start({ threads: 0 })).rejects.toThrow(/threads/);
  });
});

describe("backends", () => {
  test('createBackend("cpu") is the pool, and its work is valid', async () => {
    const backend = await createBackend("cpu", { threads: 1 });
    try {
      expect(backend).toBeInstanceOf(CpuBackend);
      expect(backend.name).toMatch(/^cpu \((native|wasm)-\w+, 1 threads\)$/);
      const root = randomBytes(32);
      const { work } = await backend.generate(root, 0xfff0000000000000n);
      expect(workValue(root, work) >= 0xfff0000000000000n).toBe(true);
    } finally {
      await backend.close();
    }
  });

  test("createBackend(url) is the RPC client; anything else is refused", async () => {
    const rpc = await createBackend("http://127.0.0.1:7076");
    expect(rpc).toBeInstanceOf(RpcBackend);
    await rpc.close();
    await expect(createBackend("gpu")).rejects.toThrow(/unknown work backend/);
  });

  test("generateWork takes hex and returns verified work", async () => {
    const hash = randomBytes(32).toString("hex");
    const { work, value } = await generateWork(hash, "fff0000000000000");
    expect(workValue(Buffer.from(hash, "hex"), work)).toBe(value);
    expect(value >= 0xfff0000000000000n).toBe(true);
  });
});
