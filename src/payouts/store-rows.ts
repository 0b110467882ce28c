import { parseU64 } from "../nano/hex.js";
import {
  type ItemStatus,
  PayoutStateError,
  type StoredItem,
  type UnpaidWork,
  type WorkerWork,
} from "./ports.js";
import { winWeight } from "./weights.js";

/**
 * What the SQLite and Postgres payout stores share: turning their rows into the port's types, and
 * the refusals both make, worded once.
 */

/** One group of the unpaid-wins query: a worker's wins of one type at one difficulty. */
export interface WinGroupRow {
  worker: string;
  type: "precache" | "ondemand";
  difficulty: string;
  /** All the group's wins up to the plan's last win (lifetime counters). */
  n: number;
  /** Those after the worker's last completed payout. */
  unpaid: number;
}

/** Sums the groups per worker; workers with nothing unpaid are left out. */
export function unpaidFromGroups(throughWinId: number, rows: WinGroupRow[]): UnpaidWork {
  const workers = new Map<string, WorkerWork>();
  for (const row of rows) {
    const w = workers.get(row.worker) ?? {
      worker: row.worker,
      precache: 0,
      ondemand: 0,
      weight: 0n,
      lifetimePrecache: 0,
      lifetimeOndemand: 0,
    };
    w[row.type] += row.unpaid;
    w[row.type === "precache" ? "lifetimePrecache" : "lifetimeOndemand"] += row.n;
    w.weight += winWeight(parseU64(row.difficulty, "difficulty")) * BigInt(row.unpaid);
    workers.set(row.worker, w);
  }
  const unpaid = [...workers.values()].filter((w) => w.precache + w.ondemand > 0);
  return { throughWinId, workers: unpaid.sort((a, b) => a.worker.localeCompare(b.worker)) };
}

export interface ItemRow {
  worker: string;
  amount: string;
  precache: number;
  ondemand: number;
  weight: string;
  snapshot_precache: number;
  snapshot_ondemand: number;
  status: ItemStatus;
  block_hash: string | null;
  block_json: string | null;
  paid_at: number | string | null;
}

export function toItem(row: ItemRow): StoredItem {
  return {
    worker: row.worker,
    amount: BigInt(row.amount),
    precache: row.precache,
    ondemand: row.ondemand,
    weight: BigInt(row.weight),
    snapshotPrecache: row.snapshot_precache,
    snapshotOndemand: row.snapshot_ondemand,
    status: row.status,
    blockHash: row.block_hash,
    blockJson: row.block_json,
    // Postgres BIGINT arrives as a string.
    paidAt: row.paid_at === null ? null : Number(row.paid_at),
  };
}

export const partlyPaid = (planId: string) =>
  new PayoutStateError(
    `payout plan ${planId} is partly paid: finish it with \`dpow payouts run ${planId}\` before planning the next`,
  );

export const noPlan = (planId: string) => new PayoutStateError(`no payout plan ${planId}`);

export const paidByAnother = (planId: string, payer: string) =>
  new PayoutStateError(
    `payout plan ${planId} is being paid by ${payer}; resume it with the same options (another payer could pay twice)`,
  );

export const changedUnderRun = (planId: string, worker: string) =>
  new PayoutStateError(
    `the payment to ${worker} changed under this run (is another \`dpow payouts run ${planId}\` running?); let it finish, then run again`,
  );

export const stillUnpaid = (planId: string, unpaid: number) =>
  new PayoutStateError(`payout plan ${planId} still has ${unpaid} unpaid payments`);
