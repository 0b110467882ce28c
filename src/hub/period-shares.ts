/**
 * Each worker's share of the current payout period, as the payout plan will weigh it, told to the
 * worker with every credit (`share` on `client/ADDRESS`). Reading the period from the ledger is a
 * scan of its wins, so it is read once at start and then every REFRESH_MS (a payout ends the period,
 * other replicas credit wins too); in between, this replica's own wins are added as they are
 * credited. A win credited while a read is in flight is added again after it, so none is lost.
 */
import type { Logger } from "pino";
import { winWeight } from "../nano/difficulty.js";
import type { PayoutPeriod } from "./ports.js";

/** Once a minute: a worker sees a payout reflected within a minute, the ledger sees one scan. */
export const REFRESH_MS = 60_000;
/** Shares are sent with 6 significant decimals: enough to see a small worker's share move. */
const SHARE_DIGITS = 1_000_000n;

export class PeriodShares {
  private weights = new Map<string, bigint>();
  private total = 0n;
  private loaded = false;
  /** Wins credited while a read of the period is in flight, replayed on top of its answer. */
  private duringRead: Array<[string, bigint]> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly period: PayoutPeriod,
    private readonly logger: Logger,
    private readonly refreshMs = REFRESH_MS,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Adds a win just credited to `worker` (canonical address) at `difficulty`. */
  add(worker: string, difficulty: bigint): void {
    const weight = winWeight(difficulty);
    this.duringRead?.push([worker, weight]);
    this.apply(worker, weight);
  }

  /** `worker`'s share of the period (0..1), or undefined before the period could be read. */
  share(worker: string): number | undefined {
    if (!this.loaded || this.total === 0n) return undefined;
    const mine = this.weights.get(worker) ?? 0n;
    return Number((mine * SHARE_DIGITS) / this.total) / Number(SHARE_DIGITS);
  }

  private apply(worker: string, weight: bigint): void {
    this.weights.set(worker, (this.weights.get(worker) ?? 0n) + weight);
    this.total += weight;
  }

  private async refresh(): Promise<void> {
    if (this.duringRead) return;
    this.duringRead = [];
    try {
      const weights = new Map((await this.period.workers()).map((w) => [w.worker, w.weight]));
      const replay = this.duringRead;
      this.weights = weights;
      this.total = [...weights.values()].reduce((sum, w) => sum + w, 0n);
      for (const [worker, weight] of replay) this.apply(worker, weight);
      this.loaded = true;
    } catch (err) {
      // Shares are informative: a failed read keeps the last figures and is retried next time.
      this.logger.warn({ err }, "could not read the payout period for worker shares; retrying later");
    } finally {
      this.duringRead = null;
    }
  }
}
