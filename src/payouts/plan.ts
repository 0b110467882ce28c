import { randomBytes } from "node:crypto";
import { addressError, addressToPublicKey } from "../nano/account.js";
import { bytesToHex } from "../nano/hex.js";
import type { Plan, PlanItem, Skipped, UnpaidWork } from "./ports.js";
import { splitBudget } from "./shares.js";

export interface PlanOptions {
  budget: bigint;
  /** Workers with fewer unpaid works than this are left out; their work carries over. */
  minWorks: number;
  /** Addresses never paid (e.g. the operator's own workers); their work carries over. */
  exclude: string[];
  now?: number;
}

/** A plan id: creation time plus randomness, unique and sortable. */
function newPlanId(now: number): string {
  return `${new Date(now).toISOString().slice(0, 19).replace(/[-:T]/g, "")}-${randomBytes(4).toString("hex")}`;
}

/** Public key zero: the hub's local worker credits it by default; Nano sent there is destroyed. */
const BURN_KEY = "00".repeat(32);

/**
 * Shares `budget` among the workers with unpaid work, in proportion to their difficulty-weighted
 * work. Invalid addresses, the burn address, excluded ones and workers below the minimum are skipped
 * (and reported); so are shares that round to 0 raw. Amounts sum to at most the budget.
 */
export function buildPlan(unpaid: UnpaidWork, options: PlanOptions): Plan {
  const excluded = new Set(options.exclude.map(keyOf));
  const skipped: Skipped[] = [];
  const eligible = unpaid.workers.filter((w) => {
    const works = w.precache + w.ondemand;
    const invalid = addressError(w.worker);
    const reason = invalid
      ? `invalid Nano address (${invalid}): cannot be paid`
      : keyOf(w.worker) === BURN_KEY
        ? "burn address (a local worker without --worker-payout credits it): never paid, nobody can spend it"
        : excluded.has(keyOf(w.worker))
          ? "excluded (--exclude): work carries over"
          : works < options.minWorks
            ? `${works} works, below --min-works ${options.minWorks}: work carries over`
            : null;
    if (reason) skipped.push({ worker: w.worker, works, reason });
    return reason === null;
  });
  const shares = splitBudget(
    options.budget,
    eligible.map((w) => ({ key: w.worker, weight: w.weight })),
  );
  const items: PlanItem[] = [];
  for (const w of eligible) {
    const amount = shares.get(w.worker) ?? 0n;
    if (amount === 0n) {
      skipped.push({
        worker: w.worker,
        works: w.precache + w.ondemand,
        reason: "share rounds to 0 raw: work carries over",
      });
      continue;
    }
    items.push({
      worker: w.worker,
      amount,
      precache: w.precache,
      ondemand: w.ondemand,
      weight: w.weight,
      snapshotPrecache: w.lifetimePrecache,
      snapshotOndemand: w.lifetimeOndemand,
    });
  }
  items.sort((a, b) =>
    a.amount === b.amount ? a.worker.localeCompare(b.worker) : a.amount > b.amount ? -1 : 1,
  );
  const now = options.now ?? Date.now();
  return {
    id: newPlanId(now),
    createdAt: now,
    budget: options.budget,
    throughWinId: unpaid.throughWinId,
    items,
    skipped,
  };
}

/** The same account whatever its prefix (nano_/xrb_); invalid text compares as itself. */
function keyOf(address: string): string {
  return addressError(address) ? address : bytesToHex(addressToPublicKey(address));
}

export function planTotal(plan: Pick<Plan, "items">): bigint {
  return plan.items.reduce((sum, i) => sum + i.amount, 0n);
}
