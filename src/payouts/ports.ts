/**
 * The payouts module's port onto the ledger: the wins not paid yet, and durable records of payout
 * plans and of every payment made. SQLite for the embedded hub (sqlite-store.ts), PostgreSQL for a
 * scaled-out one (postgres-store.ts); both answer the same contract (test/payouts/store-contract.ts).
 */
import { CodedError } from "../errors.js";

/** One worker's unpaid wins, counted by type and weighted by difficulty (see weights.ts). */
export interface WorkerWork {
  worker: string;
  precache: number;
  ondemand: number;
  /** Sum of the wins' weights in WEIGHT_UNIT units (a win at the send threshold = WEIGHT_UNIT). */
  weight: bigint;
  /** Lifetime counters up to the same win (paid or not): the snapshot a payout reports. */
  lifetimePrecache: number;
  lifetimeOndemand: number;
}

export interface UnpaidWork {
  /** The newest win considered: a plan pays for wins up to and including this id. */
  throughWinId: number;
  workers: WorkerWork[];
}

export type ItemStatus = "pending" | "sending" | "paid";

/** One payment of a plan. */
export interface PlanItem {
  worker: string;
  amount: bigint;
  precache: number;
  ondemand: number;
  weight: bigint;
  /** The worker's lifetime counters up to the plan's last win: the snapshot workers are told about. */
  snapshotPrecache: number;
  snapshotOndemand: number;
}

/** A worker left out of a plan, and why (its work carries over unless the address is invalid). */
export interface Skipped {
  worker: string;
  works: number;
  reason: string;
}

export interface Plan {
  id: string;
  createdAt: number;
  budget: bigint;
  throughWinId: number;
  items: PlanItem[];
  skipped: Skipped[];
}

export interface StoredItem extends PlanItem {
  status: ItemStatus;
  blockHash: string | null;
  /** Key mode: the signed block, saved before it is published so a resumed run republishes it. */
  blockJson: string | null;
  paidAt: number | null;
}

export type PlanStatus = "open" | "complete" | "superseded";

export interface StoredPlan extends Omit<Plan, "items"> {
  status: PlanStatus;
  /** Who pays this plan, set by its first run. */
  payer: string | null;
  completedAt: number | null;
  items: StoredItem[];
}

export interface PayoutStore {
  /** Every worker's wins since its last completed payment, up to the newest win now. */
  unpaidWork(): Promise<UnpaidWork>;
  /** A worker's lifetime counters up to `throughWinId`. */
  workerCounters(worker: string, throughWinId?: number): Promise<{ precache: number; ondemand: number }>;
  /**
   * Saves a new plan. An open plan nothing was attempted for yet is superseded; one with any payment
   * attempted throws PayoutStateError (it must be run to completion first).
   */
  savePlan(plan: Plan): Promise<void>;
  plan(id: string): Promise<StoredPlan | undefined>;
  /**
   * Binds an open plan to the payer that pays it (e.g. "wallet W from S", "key S") on its first
   * run. Once a payment was attempted, another payer throws PayoutStateError: a payment the first
   * payer may have made is invisible to another (other wallet ids, other blocks), so switching
   * could pay twice.
   */
  bindPayer(planId: string, payer: string): Promise<void>;
  /**
   * Marks a payment as about to be sent; key mode stores the signed block (hash + JSON) first, and
   * only where no block is saved yet (else PayoutStateError: another run is paying this plan).
   */
  markSending(planId: string, worker: string, block?: { hash: string; json: string }): Promise<void>;
  /** Forgets the saved block `blockHash`, proven never to be accepted (its place in the chain was taken). */
  clearBlock(planId: string, worker: string, blockHash: string): Promise<void>;
  recordPayment(planId: string, worker: string, blockHash: string): Promise<void>;
  /** Marks the plan complete; throws PayoutStateError unless every item is paid. */
  completePlan(planId: string): Promise<void>;
  /** All plans, newest first. */
  history(): Promise<StoredPlan[]>;
  close(): Promise<void>;
}

/** A payout operation refused because of the plans' state; the message says what to do. */
export class PayoutStateError extends CodedError {
  override name = "PayoutStateError";
  constructor(message: string) {
    super("DPOW_PAYOUT_STATE", message);
  }
}
