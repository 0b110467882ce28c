/**
 * Workers' shares of the payout period: read from the period at start, own wins added as they are
 * credited, a win credited while a read is in flight kept, and weighed as the payout plan weighs
 * wins (by difficulty, relative to the send threshold).
 */
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { PeriodShares } from "../../src/hub/period-shares.js";
import type { PayoutPeriod } from "../../src/hub/ports.js";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD, WEIGHT_UNIT } from "../../src/nano/difficulty.js";

const silent = pino({ level: "silent" });

/** A period whose reads the test answers by hand. */
function manualPeriod() {
  const reads: Array<(weights: Map<string, bigint>) => void> = [];
  let readBegun: () => void = () => {};
  const period: PayoutPeriod = {
    workers: () =>
      new Promise((resolve) => {
        reads.push((weights) =>
          resolve([...weights].map(([worker, weight]) => ({ worker, weight, precache: 0, ondemand: 0 }))),
        );
        readBegun();
      }),
    lastPayout: async () => undefined,
    close: async () => {},
  };
  return {
    period,
    answer: (weights: Map<string, bigint>) => reads.shift()?.(weights),
    /** Resolves when the next read begins (at once if one is waiting). */
    nextRead: () =>
      new Promise<void>((resolve) => {
        readBegun = resolve;
        if (reads.length > 0) resolve();
      }),
  };
}

describe("period shares", () => {
  it("knows no share before the period is read, then weighs wins as the plan does", async () => {
    const { period, answer } = manualPeriod();
    const shares = new PeriodShares(period, silent, 3_600_000);
    expect(shares.share("nano_a")).toBeUndefined();
    const started = shares.start();
    answer(new Map([["nano_a", 3n * WEIGHT_UNIT]]));
    await started;
    expect(shares.share("nano_a")).toBe(1);
    shares.add("nano_b", SEND_THRESHOLD); // weight 1: b holds 1 of 4
    expect(shares.share("nano_b")).toBe(0.25);
    shares.add("nano_b", RECEIVE_THRESHOLD); // weight 1/64
    expect(shares.share("nano_b")).toBeCloseTo((1 + 1 / 64) / (4 + 1 / 64), 6);
    expect(shares.share("nano_c")).toBe(0);
    shares.stop();
  });

  it("keeps a win credited while a read is in flight", async () => {
    const { period, answer, nextRead } = manualPeriod();
    const shares = new PeriodShares(period, silent, 10);
    const started = shares.start();
    answer(new Map());
    await started;
    await nextRead();
    shares.add("nano_a", SEND_THRESHOLD); // after the read began: not in its answer
    answer(new Map([["nano_b", WEIGHT_UNIT]]));
    await Promise.resolve();
    expect(shares.share("nano_a")).toBe(0.5);
    shares.stop();
  });

  it("keeps the last figures when a read fails", async () => {
    const failing: PayoutPeriod = {
      workers: () => Promise.reject(new Error("down")),
      lastPayout: () => Promise.reject(new Error("down")),
      close: async () => {},
    };
    const shares = new PeriodShares(failing, silent, 3_600_000);
    await shares.start();
    shares.add("nano_a", SEND_THRESHOLD);
    expect(shares.share("nano_a")).toBeUndefined(); // never read: the period's other workers are unknown
    shares.stop();
  });
});
