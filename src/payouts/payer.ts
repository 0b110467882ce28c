import { CodedError } from "../errors.js";
import type { PayoutStore, StoredItem } from "./ports.js";

/** Makes one payment of a plan exactly once, however often it is retried after a crash. */
export interface Payer {
  /** The account the payments come from. */
  readonly source: string;
  /** Who pays, for binding a plan to one payer: "wallet W from S" or "key of S". */
  readonly identity: string;
  /** Pays `item` (or finds it already paid), records the block hash in the store, returns it. */
  pay(planId: string, item: StoredItem): Promise<string>;
  close(): Promise<void>;
}

/** The source account lacks the funds for what is left to pay; nothing more was sent. */
export class InsufficientBalanceError extends CodedError {
  override name = "InsufficientBalanceError";
  constructor(message: string) {
    super("DPOW_INSUFFICIENT_BALANCE", message);
  }
}

export type StoreForPayer = Pick<PayoutStore, "markSending" | "clearBlock" | "recordPayment">;
