import type { Logger } from "pino";
import { topics } from "../protocol/topics.js";
import type { PeriodShares } from "./period-shares.js";
import type { Broker, CachedWork, Job, Ledger } from "./ports.js";

/**
 * Credits winners. The win is written to the ledger (durably, once per job) before the caller
 * publishes the cancel, so a crash can lose a cancel but never a credit, and a retried or
 * duplicated result can never credit twice.
 */
export class Accounting {
  constructor(
    private readonly ledger: Ledger,
    private readonly broker: Broker,
    private readonly logger: Logger,
    /** Each worker's share of the payout period, sent with its counters when known. */
    private readonly shares?: PeriodShares,
  ) {}

  /**
   * Credits `worker` (its canonical `nano_` address: `xrb_` and `nano_` spellings of one key are one
   * worker) and tells it its counters on `client/<replyTo>`, the spelling it sent and subscribed to.
   */
  async credit(job: Job, worker: string, replyTo: string, work: bigint): Promise<void> {
    const { recorded, counters } = await this.ledger.recordWin({
      jobId: job.id,
      hash: job.hash,
      type: job.type,
      worker,
      service: job.service,
      difficulty: job.difficulty,
      work,
      at: Date.now(),
    });
    if (!recorded) return;
    this.shares?.add(worker, job.difficulty);
    const share = this.shares?.share(worker);
    // `share` is this hub's addition (README, compatibility): original clients ignore the field.
    const payload = JSON.stringify({
      ...counters,
      block_rewarded: job.hash,
      ...(share !== undefined && { share }),
    });
    this.publish(topics.client(replyTo), payload);
  }

  /** Work an on-demand win holds for `hash`: it outlives the coordinator's cache in a crash. */
  solvedWork(hash: string): Promise<CachedWork | undefined> {
    return this.ledger.solvedWork(hash);
  }

  /**
   * Tells the sender of valid work for an open job that it is not credited: its payout address is
   * not a valid Nano address (the original hub's words; DPOW_MQTT_PAYOUT_INVALID in the error
   * catalogue, src/errors.ts, the one error ever sent on `client/`). Callers make sure of both conditions, so
   * nobody can make the hub publish on `client/` topics of their choosing; `address` is one topic
   * level (the result parser refuses wildcards, separators and more than 100 characters).
   */
  invalidAccount(address: string): void {
    this.publish(
      topics.client(address),
      JSON.stringify({ error: `Work accepted but account ${address} is invalid` }),
    );
  }

  private publish(topic: string, payload: string): void {
    this.broker
      .publish(topic, payload)
      .catch((err: unknown) => this.logger.warn({ err, topic }, "publish failed"));
  }
}
