import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { PayoutStateError, type Plan, type StoredPlan } from "./ports.js";
import { formatWeight } from "./weights.js";

/** A plan as the JSON the operator reviews (amounts in raw as strings, weights in send-works). */
export function planDocument(plan: Plan | StoredPlan) {
  return {
    id: plan.id,
    created_at: new Date(plan.createdAt).toISOString(),
    status: "status" in plan ? plan.status : "open",
    budget: plan.budget.toString(),
    total: plan.items.reduce((sum, i) => sum + i.amount, 0n).toString(),
    through_win_id: plan.throughWinId,
    payments: plan.items.map((i) => ({
      worker: i.worker,
      amount: i.amount.toString(),
      precache: i.precache,
      ondemand: i.ondemand,
      weight: formatWeight(i.weight),
      ...("status" in i ? { status: i.status, block: i.blockHash } : {}),
    })),
    skipped: plan.skipped,
  };
}

export function writePlanFile(file: string, plan: Plan): void {
  writeFileSync(file, `${JSON.stringify(planDocument(plan), null, 2)}\n`, { flag: "wx" });
}

const PLAN_ID = /^\d{14}-[0-9a-f]{8}$/;

/** `run PLAN` takes the plan file or the bare id; the database stays the source of truth. */
export function planIdFrom(arg: string): string {
  if (PLAN_ID.test(arg)) return arg;
  if (!existsSync(arg))
    throw new PayoutStateError(`no plan file ${arg} (give the file \`payouts plan\` wrote, or the plan id)`);
  let id: unknown;
  try {
    id = (JSON.parse(readFileSync(arg, "utf8")) as { id?: unknown }).id;
  } catch {
    throw new PayoutStateError(`${arg} is not a payout plan file (not JSON)`);
  }
  if (typeof id !== "string" || !PLAN_ID.test(id)) throw new PayoutStateError(`${arg} has no valid plan id`);
  return id;
}
