/**
 * Property tests of the difficulty a service gets, against the real hub (embedded broker, work
 * flow, service API) with real worker clients computing on the CPU, at a low base so a case takes
 * milliseconds. Whatever is asked, and whatever precached work the hub holds for the hash, no
 * response ever carries work that fails validation at the difficulty asked (or raised to); above
 * the maximum the request is refused, never served easier work.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromMultiplier, toMultiplier } from "../../src/nano/difficulty.js";
import { formatU64, parseHash, parseU64, U64_MAX } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import type { RunningWorker } from "../../src/worker/index.js";
import { newPayout } from "../helpers/fake-worker.js";
import { startCpuWorker, TestHub, waitFor } from "../precache/harness.js";

/** 4,096 hashes on average; receive (1/64) is 64, the maximum (8x) 32,768. */
const BASE = 0xfff0000000000000n;
const RECEIVE = fromMultiplier(1 / 64, BASE);
const MAX = fromMultiplier(8, BASE);

const dir = mkdtempSync(join(tmpdir(), "dpow-difficulty-"));
const hubs: TestHub[] = [];
const workers: RunningWorker[] = [];

async function hubWithWorkers(outOfRange: "clamp" | "refuse", count: number): Promise<TestHub> {
  const hub = await TestHub.start({ db: join(dir, `${outOfRange}.db`), base: BASE, outOfRange });
  hubs.push(hub);
  for (let i = 0; i < count; i++) workers.push(await startCpuWorker(hub, newPayout()));
  return hub;
}

let clampHub: TestHub;
let refuseHub: TestHub;

beforeAll(async () => {
  clampHub = await hubWithWorkers("clamp", 2);
  refuseHub = await hubWithWorkers("refuse", 1);
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  for (const hub of hubs) await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

const u64 = (min: bigint, max: bigint) =>
  fc.bigInt({ min: min < 0n ? 0n : min, max: max > U64_MAX ? U64_MAX : max });
/** Difficulties anywhere, and many right at the edges of the hub's range. */
const difficulty = fc.oneof(
  u64(0n, U64_MAX),
  u64(RECEIVE, MAX),
  u64(RECEIVE - 1000n, RECEIVE + 1000n),
  u64(MAX - 1000n, MAX + 1000n),
  u64(BASE - 10n, BASE + 10n),
);
const multiplier = fc.oneof(
  fc.double({ min: 1e-6, max: 1e4, noNaN: true }),
  fc.double({ min: 1 / 64, max: 8, noNaN: true }),
  fc.constantFrom(1 / 64, 1, 8, 1 / 64 - 1e-12, 8 + 1e-9),
);
/** A request's difficulty fields: none, difficulty, multiplier, or both (the multiplier wins). */
const ask = fc.record({ difficulty: difficulty.map((d) => formatU64(d)), multiplier }, { requiredKeys: [] });

/** What the hub must work at: the multiplier, else the difficulty, else the base. */
function asked(request: { difficulty?: string; multiplier?: number }): bigint {
  if (request.multiplier !== undefined) return fromMultiplier(request.multiplier, BASE);
  return request.difficulty !== undefined ? parseU64(request.difficulty, "difficulty") : BASE;
}

/** `difficulty` raised to RECEIVE (bigints: Math.max does not apply). */
function raise(difficulty: bigint): bigint {
  return difficulty < RECEIVE ? RECEIVE : difficulty;
}

const TOO_HIGH = new RegExp(`^Difficulty too high\\. Maximum: ${formatU64(MAX)} \\( 8 multiplier \\)`);

const randomHash = () => randomBytes(32).toString("hex").toUpperCase();

function checkWork(json: Record<string, unknown>, hash: string, threshold: bigint): bigint {
  expect(json.error).toBeUndefined();
  const value = workValue(parseHash(hash), parseU64(json.work, "work"));
  expect(value >= threshold, `work ${json.work} reaches ${formatU64(value)} < ${formatU64(threshold)}`).toBe(
    true,
  );
  expect(json.difficulty).toBe(formatU64(value));
  expect(Number(json.multiplier)).toBeCloseTo(toMultiplier(value, BASE), 9);
  return value;
}

describe("the difficulty of the work served", () => {
  it("always meets what was asked (raised with a hint when too low, refused when too high), precached work or not", async () => {
    const stats = { fromHeld: 0, heldTooLow: 0, raised: 0, tooHigh: 0 };
    await fc.assert(
      fc.asyncProperty(ask, fc.option(u64(RECEIVE, MAX)), async (request, heldAt) => {
        const hash = randomHash();
        let held: bigint | undefined;
        if (heldAt !== null) {
          // Precache the hash at another difficulty first, through the real precache path.
          await clampHub.hub.flow.precache(hash, heldAt, 60_000);
          await waitFor(
            "the precached work",
            async () => (await clampHub.coordinator.cachedWork(hash)) !== undefined,
          );
          held = (await clampHub.coordinator.cachedWork(hash))?.value;
        }
        const wanted = asked(request);
        const target = raise(wanted);
        const { status, json } = await clampHub.request({ hash, ...request, timeout: 20 });
        expect(status).toBe(200);
        if (wanted > MAX) {
          expect(json).toEqual({ error: expect.stringMatching(TOO_HIGH) });
          stats.tooHigh += 1;
          return;
        }
        const value = checkWork(json, hash, target);
        expect(json.hint === undefined).toBe(target === wanted);
        if (target !== wanted) stats.raised += 1;
        if (held !== undefined && held >= target) {
          // The held work, or better: a second worker's late result may have replaced it since.
          expect(value >= held, "held work that meets the target was not served").toBe(true);
          stats.fromHeld += 1;
        }
        if (held !== undefined && held < target) stats.heldTooLow += 1;
      }),
      {
        numRuns: 60,
        // One of each case that matters, whatever the random ones turn out to be (60 random cases
        // miss "too high" about once in 30,000 runs).
        examples: [
          [{ multiplier: 9 }, null],
          [{}, MAX],
          [{ multiplier: 8 }, RECEIVE],
          [{ multiplier: 1e-3 }, null],
        ],
      },
    );
    // The cases that matter were all exercised.
    expect(stats.fromHeld).toBeGreaterThan(0);
    expect(stats.heldTooLow).toBeGreaterThan(0);
    expect(stats.raised).toBeGreaterThan(0);
    expect(stats.tooHigh).toBeGreaterThan(0);
  });

  it("refuses a difficulty out of range with a clear error when so configured, and serves the rest", async () => {
    await fc.assert(
      fc.asyncProperty(ask, async (request) => {
        const hash = randomHash();
        const wanted = asked(request);
        const { status, json } = await refuseHub.request({ hash, ...request, id: 1, timeout: 20 });
        expect(status).toBe(200);
        if (wanted > MAX) {
          expect(json).toEqual({ error: expect.stringMatching(TOO_HIGH), id: 1 });
        } else if (wanted < RECEIVE) {
          expect(json).toEqual({ error: expect.stringMatching(/^Difficulty too low\. Minimum: /), id: 1 });
        } else {
          checkWork(json, hash, wanted);
          expect(json.hint).toBeUndefined();
        }
      }),
      { numRuns: 40 },
    );
  });
});
