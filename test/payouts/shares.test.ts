import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { splitBudget } from "../../src/payouts/shares.js";

const claimants = fc.uniqueArray(
  fc.record({
    key: fc.string({ minLength: 1, maxLength: 8 }),
    weight: fc.bigInt({ min: 0n, max: 1n << 80n }),
  }),
  { selector: (c) => c.key, minLength: 1, maxLength: 30 },
);
const budgets = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

describe("splitBudget (largest remainder)", () => {
  it("pays exactly the budget when anyone has weight, never more", () => {
    fc.assert(
      fc.property(budgets, claimants, (budget, weights) => {
        const shares = splitBudget(budget, weights);
        const sum = [...shares.values()].reduce((a, b) => a + b, 0n);
        const total = weights.reduce((a, w) => a + w.weight, 0n);
        expect(sum).toBe(total === 0n ? 0n : budget);
        for (const share of shares.values()) expect(share >= 0n).toBe(true);
      }),
    );
  });

  it("gives each claimant its exact proportional share, rounded down or up by less than 1 raw", () => {
    fc.assert(
      fc.property(budgets, claimants, (budget, weights) => {
        const total = weights.reduce((a, w) => a + w.weight, 0n);
        fc.pre(total > 0n);
        const shares = splitBudget(budget, weights);
        for (const w of weights) {
          const share = shares.get(w.key) as bigint;
          const floor = (budget * w.weight) / total;
          expect(share === floor || share === floor + 1n).toBe(true);
          if (w.weight === 0n) expect(share).toBe(0n);
        }
      }),
    );
  });

  it("is deterministic whatever the order of the claimants", () => {
    fc.assert(
      fc.property(budgets, claimants, (budget, weights) => {
        const forward = splitBudget(budget, weights);
        const backward = splitBudget(budget, [...weights].reverse());
        expect(new Map([...backward].sort())).toEqual(new Map([...forward].sort()));
      }),
    );
  });
});
