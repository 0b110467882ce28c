import type { NodeRpc } from "./node-rpc.js";
import { InsufficientBalanceError, type Payer } from "./payer.js";
import { PayoutStateError, type PayoutStore, type StoredItem, type StoredPlan } from "./ports.js";

export interface RunSummary {
  plan: StoredPlan;
  source: string;
  /** Payments still to make (including ones a crashed run may have sent: they are not paid twice). */
  remaining: StoredItem[];
  remainingTotal: bigint;
  balance: bigint;
}

export interface RunHooks {
  /** Asked once before anything is sent; false stops without paying. */
  confirm?: (summary: RunSummary) => Promise<boolean>;
  progress?: (done: number, total: number, item: StoredItem, hash: string) => void;
  dryRun?: boolean;
}

export type RunOutcome = "complete" | "already-complete" | "dry-run" | "declined";

/**
 * Pays every unpaid item of a plan, in order, then completes the plan. Safe to re-run at any point:
 * paid items are skipped and the payer makes each payment exactly once. A failure leaves the plan
 * open and resumable.
 */
export async function runPlan(
  store: PayoutStore,
  rpc: NodeRpc,
  payer: Payer,
  planId: string,
  hooks: RunHooks = {},
): Promise<{ outcome: RunOutcome; plan: StoredPlan }> {
  const plan = await store.plan(planId);
  if (!plan)
    throw new PayoutStateError(`no payout plan ${planId} in this ledger (wrong --db or --postgres?)`);
  if (plan.status === "superseded") {
    throw new PayoutStateError(`payout plan ${planId} was replaced by a newer plan; run that one instead`);
  }
  if (plan.status === "complete") return { outcome: "already-complete", plan };
  if (!hooks.dryRun) await store.bindPayer(plan.id, payer.identity);
  const remaining = plan.items.filter((i) => i.status !== "paid");
  const remainingTotal = remaining.reduce((sum, i) => sum + i.amount, 0n);
  const balance = await rpc.balance(payer.source);
  // Only payments never attempted must be covered now: an attempted one may already be paid.
  const unattempted = remaining.filter((i) => i.status === "pending").reduce((sum, i) => sum + i.amount, 0n);
  if (balance < unattempted) {
    throw new InsufficientBalanceError(
      `${payer.source} holds ${balance} raw but the plan still needs ${unattempted} raw`,
    );
  }
  const summary: RunSummary = { plan, source: payer.source, remaining, remainingTotal, balance };
  if (hooks.dryRun) return { outcome: "dry-run", plan };
  if (hooks.confirm && !(await hooks.confirm(summary))) return { outcome: "declined", plan };
  let done = plan.items.length - remaining.length;
  for (const item of remaining) {
    const hash = await payer.pay(plan.id, item);
    hooks.progress?.(++done, plan.items.length, item, hash);
  }
  await store.completePlan(plan.id);
  return { outcome: "complete", plan: (await store.plan(plan.id)) as StoredPlan };
}
