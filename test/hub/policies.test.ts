import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { apiKeyMatches, generateApiKey, hashApiKey } from "../../src/hub/api-keys.js";
import { DEV_BASE, DifficultyPolicy } from "../../src/hub/difficulty-policy.js";
import { RateLimiter } from "../../src/hub/rate-limiter.js";
import { connectionKey, WorkerPenalties } from "../../src/hub/worker-penalties.js";
import {
  expectedHashes,
  fromMultiplier,
  RECEIVE_THRESHOLD,
  SEND_THRESHOLD,
  toMultiplier,
} from "../../src/nano/difficulty.js";

describe("DifficultyPolicy", () => {
  const live = new DifficultyPolicy(SEND_THRESHOLD, 8);

  it("derives the live receive threshold as 1/64 of the send base", () => {
    expect(live.receive).toBe(RECEIVE_THRESHOLD);
    expect(live.max).toBe(fromMultiplier(8, SEND_THRESHOLD));
  });

  it("defaults to the base, lets the multiplier win over the difficulty, raises a low one with a hint", () => {
    expect(live.resolve({})).toEqual({ difficulty: SEND_THRESHOLD });
    expect(live.resolve({ difficulty: "fffffe0000000000", multiplier: 2 }).difficulty).toBe(
      fromMultiplier(2, SEND_THRESHOLD),
    );
    expect(live.resolve({ multiplier: 0.001 })).toEqual({
      difficulty: RECEIVE_THRESHOLD,
      hint: expect.stringMatching(/raised to fffffe0000000000/),
    });
  });

  it("refuses a difficulty above the maximum with the original's text, whatever the mode", () => {
    const max = "ffffffff00000000";
    for (const mode of ["clamp", "refuse"] as const) {
      const policy = new DifficultyPolicy(SEND_THRESHOLD, 8, mode);
      expect(policy.resolve({ difficulty: "ffffffffffffffff" }).error).toMatch(
        new RegExp(`^Difficulty too high\\. Maximum: ${max} \\( 8 multiplier \\): `),
      );
      expect(policy.resolve({ multiplier: 8.0001 }).error).toMatch(/^Difficulty too high/);
      expect(policy.resolve({ multiplier: 1e300 }).error).toMatch(/^Difficulty too high/);
      expect(policy.resolve({ multiplier: 8 }).error).toBeUndefined();
    }
    const refusing = new DifficultyPolicy(SEND_THRESHOLD, 8, "refuse");
    expect(refusing.resolve({ multiplier: 0.001 }).error).toMatch(
      /^Difficulty too low\. Minimum: fffffe0000000000 \( 0\.015625 multiplier \)/,
    );
  });

  it("never gives less than was asked: what it serves is the request, raised to receive, or an error", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (asked) => {
        const hex = asked.toString(16).padStart(16, "0");
        const { difficulty, hint, error } = live.resolve({ difficulty: hex });
        if (error !== undefined) {
          expect(asked > live.max).toBe(true);
          return;
        }
        expect(difficulty >= asked && difficulty >= live.receive && difficulty <= live.max).toBe(true);
        if (hint === undefined) expect(difficulty).toBe(asked);
      }),
    );
  });

  it("gives dev work a CPU solves in a blink", () => {
    expect(expectedHashes(DEV_BASE)).toBe(65536);
    expect(toMultiplier(new DifficultyPolicy(DEV_BASE, 8).max, DEV_BASE)).toBeCloseTo(8);
  });
});

describe("RateLimiter", () => {
  it("allows the burst, then the rate, per key", () => {
    let now = 0;
    const limiter = new RateLimiter(() => now);
    const takes = (n: number) => Array.from({ length: n }, () => limiter.take("a", 2, 3));
    expect(takes(4)).toEqual([true, true, true, false]);
    expect(limiter.take("b", 2, 3)).toBe(true);
    now += 500; // 2/s -> one token
    expect(takes(2)).toEqual([true, false]);
    now += 10_000; // refills to the burst, not beyond
    expect(takes(4)).toEqual([true, true, true, false]);
    expect(Array.from({ length: 100 }, () => limiter.take("c", 0, 1)).every(Boolean)).toBe(true);
  });
});

describe("WorkerPenalties", () => {
  it("ignores a worker after the threshold within the window, for the cool-down", () => {
    let now = 0;
    const penalties = new WorkerPenalties({ threshold: 3, windowMs: 100, coolDownMs: 1000 }, () => now);
    expect([penalties.strike("w"), penalties.strike("w")]).toEqual([false, false]);
    now = 150; // the window passed: counting starts again
    expect([penalties.strike("w"), penalties.strike("w"), penalties.strike("w")]).toEqual([
      false,
      false,
      true,
    ]);
    expect(penalties.isIgnored("w")).toBe(true);
    expect(penalties.isIgnored("other")).toBe(false);
    now = 1149;
    expect(penalties.isIgnored("w")).toBe(true);
    now = 1151;
    expect(penalties.isIgnored("w")).toBe(false);
  });
});

describe("connectionKey", () => {
  it("is the connection's address and client id, so workers sharing an address are charged apart", () => {
    const a = connectionKey({ clientId: "a", address: "10.0.0.1" });
    expect(a).toBe(connectionKey({ clientId: "a", address: "10.0.0.1", username: "client" }));
    expect(a).not.toBe(connectionKey({ clientId: "b", address: "10.0.0.1" }));
    expect(a).not.toBe(connectionKey({ clientId: "a", address: "10.0.0.2" }));
  });
});

describe("API keys", () => {
  it("are random, stored as a hash, and compared in constant time", () => {
    const key = generateApiKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey()).not.toBe(key);
    const stored = hashApiKey(key);
    expect(apiKeyMatches(key, stored)).toBe(true);
    expect(apiKeyMatches(`${key}x`, stored)).toBe(false);
    expect(apiKeyMatches(key, "not hex")).toBe(false);
  });
});
