import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { publicKeyToAddress } from "../../src/nano/account.js";
import { fromMultiplier, RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../../src/nano/difficulty.js";
import { applyFraction, formatNano } from "../../src/payouts/amount.js";
import { buildPlan, planTotal } from "../../src/payouts/plan.js";
import type { WorkerWork } from "../../src/payouts/ports.js";
import { WEIGHT_UNIT, winWeight } from "../../src/payouts/weights.js";

const address = (n: number) => publicKeyToAddress(new Uint8Array(32).fill(n));

function worker(n: number, works: number, weight = BigInt(works) * WEIGHT_UNIT): WorkerWork {
  return {
    worker: address(n),
    precache: 0,
    ondemand: works,
    weight,
    lifetimePrecache: 0,
    lifetimeOndemand: works,
  };
}

describe("win weights", () => {
  it("weigh a send-threshold win 1, a receive-threshold win 1/64, a 2x win 2", () => {
    expect(winWeight(SEND_THRESHOLD)).toBe(WEIGHT_UNIT);
    expect(winWeight(RECEIVE_THRESHOLD)).toBe(WEIGHT_UNIT / 64n);
    expect(winWeight(fromMultiplier(2, SEND_THRESHOLD))).toBe(2n * WEIGHT_UNIT);
  });
});

describe("buildPlan", () => {
  it("skips invalid, excluded and below-minimum workers, and reports why", () => {
    const plan = buildPlan(
      {
        throughWinId: 9,
        workers: [
          worker(1, 10),
          worker(2, 1),
          worker(3, 5),
          { ...worker(4, 5), worker: "nano_not_an_address" },
          worker(0, 50), // the burn address, which a local worker credits by default
        ],
      },
      { budget: 1000n, minWorks: 2, exclude: [address(3).replace("nano_", "xrb_")] },
    );
    expect(plan.items.map((i) => [i.worker, i.amount])).toEqual([[address(1), 1000n]]);
    expect(plan.skipped.map((s) => [s.worker, s.reason.split(" ")[0]])).toEqual([
      [address(2), "1"],
      [address(3), "excluded"],
      ["nano_not_an_address", "invalid"],
      [address(0), "burn"],
    ]);
    expect(plan.id).toMatch(/^\d{14}-[0-9a-f]{8}$/);
  });

  it("never plans more than the budget, and pays in proportion to weight", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 33n }),
        fc.array(
          fc.record({ works: fc.integer({ min: 0, max: 1000 }), mult: fc.integer({ min: 1, max: 512 }) }),
          {
            maxLength: 20,
          },
        ),
        fc.integer({ min: 0, max: 20 }),
        (budget, specs, minWorks) => {
          const workers = specs.map((s, i) =>
            worker(i + 1, s.works, (BigInt(s.works) * WEIGHT_UNIT * BigInt(s.mult)) / 64n),
          );
          const plan = buildPlan({ throughWinId: 1, workers }, { budget, minWorks, exclude: [] });
          expect(planTotal(plan) <= budget).toBe(true);
          for (const item of plan.items) expect(item.amount > 0n).toBe(true);
          expect(plan.items.length + plan.skipped.length).toBe(workers.length);
        },
      ),
    );
  });
});

describe("amounts", () => {
  it("formats raw as Nano and applies a decimal fraction exactly", () => {
    expect(formatNano(1500000000000000000000000000000n)).toBe("1.5");
    expect(formatNano(1n)).toBe("0.000000000000000000000000000001");
    expect(applyFraction(1000n, "0.5")).toBe(500n);
    expect(applyFraction(999n, "0.333")).toBe(332n);
    expect(applyFraction(7n, "1")).toBe(7n);
    expect(() => applyFraction(7n, "1.01")).toThrow(/at most 1/);
    expect(() => applyFraction(7n, "abc")).toThrow(/decimal/);
  });
});
