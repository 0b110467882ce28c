/** The payout store's rows turned into the port's types, its unpaid-wins query and the refusals it makes. */
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
 * SQL (SQLite and PostgreSQL alike) for a `worker` column in canonical `nano_` form. The hub keys
 * wins on canonical addresses; a ledger written before it did may hold `xrb_` rows for the same
 * key (the same characters after the prefix). Canonicalized at read rather than migrated: rows
 * from a replica not yet upgraded stay right, and nothing is rewritten in a ledger of money.
 */
export function canonicalWorkerSql(column: string): string {
  return `(CASE WHEN SUBSTR(${column}, 1, 4) = 'xrb_' THEN 'nano_' || SUBSTR(${column}, 5) ELSE ${column} END)`;
}

/** Both spellings a canonical `nano_` address may have in the ledger (see canonicalWorkerSql). */
export function workerSpellings(worker: string): [string, string] {
  return [worker, worker.startsWith("nano_") ? `xrb_${worker.slice(5)}` : worker];
}

/**
 * Each worker (canonical) is paid for wins after the last plan that paid it and was completed;
 * `$1` is the plan's last win id. One row per worker, type and difficulty.
 */
export const UNPAID_WINS_SQL = `
  WITH paid AS (
    SELECT ${canonicalWorkerSql("i.worker")} AS worker, MAX(p.through_win_id) AS through
    FROM payout_items i JOIN payout_plans p ON p.id = i.plan_id
    WHERE p.status = 'complete' GROUP BY ${canonicalWorkerSql("i.worker")}
  ),
  won AS (SELECT ${canonicalWorkerSql("worker")} AS worker, id, type, difficulty FROM wins WHERE id <= $1)
  SELECT w.worker, w.type, w.difficulty, COUNT(*) AS n,
         COUNT(*) FILTER (WHERE w.id > COALESCE(paid.through, 0)) AS unpaid
  FROM won w LEFT JOIN paid ON paid.worker = w.worker
  GROUP BY w.worker, w.type, w.difficulty`;

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
  paid_at: number | null;
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
    paidAt: row.paid_at,
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
