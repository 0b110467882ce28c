import type { Logger } from "pino";
import { LATENCY_BUCKETS_S, type RequestOutcome } from "../metrics.js";
import type { RollupCounts, RollupStore } from "../ports.js";
import { bucketOf } from "./latency.js";

export const SLOT_S = 10;
/** 10-second slots are kept a little over the hour the dashboard draws from them. */
const SLOT_KEEP_S = 2 * 3600;
/** Slots a store outage may leave unwritten before the oldest are dropped (an hour: bounded memory). */
const MAX_PENDING_SLOTS = 360;
const PRUNE_EVERY_MS = 3_600_000;

export interface RecorderOptions {
  /** This replica's name in the rollup rows. */
  replica: string;
  /** Minute rollups older than this are deleted. */
  keepMs: number;
  /** How often the counts are written (an idle hub writes nothing). */
  flushMs: number;
}

export const RECORDER_DEFAULTS = { flushMs: 2000 } satisfies Partial<RecorderOptions>;

const emptyCounts = (): RollupCounts => ({
  cache: 0,
  ondemand: 0,
  timeout: 0,
  error: 0,
  latency: new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0),
});

/** The dashboard's four outcomes: every way a request can be refused or fail is an error. */
function columnOf(outcome: RequestOutcome): "cache" | "ondemand" | "timeout" | "error" {
  return outcome === "cache"
    ? "cache"
    : outcome === "work"
      ? "ondemand"
      : outcome === "timeout"
        ? "timeout"
        : "error";
}

/**
 * Counts the hub's requests per 10-second slot and adds them to the rollup store every flush.
 * Counting is two increments on the request path (the slot is found at flush, not per request);
 * counts a failed write could not store are kept and added at the next flush.
 */
export class RollupRecorder {
  private current = emptyCounts();
  private currentSlot = slotOf(Date.now());
  private readonly pending = new Map<number, RollupCounts>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private warned = false;

  constructor(
    private readonly store: RollupStore,
    private readonly options: RecorderOptions,
    private readonly logger: Logger,
  ) {}

  /** A RequestListener (see HubMetrics.onRequest). */
  readonly count = (outcome: RequestOutcome, seconds?: number): void => {
    this.current[columnOf(outcome)] += 1;
    if (seconds !== undefined) (this.current.latency[bucketOf(seconds)] as number) += 1;
  };

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushMs);
    this.timer.unref();
  }

  /** Writes what was counted so far (and prunes, hourly); resolves when it is stored or kept for later. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flush();
  }

  /** Moves the counts into the slot they were made in (one flush late at most at a slot edge). */
  private takeCurrent(): void {
    const slot = this.currentSlot;
    this.currentSlot = slotOf(Date.now());
    const counts = this.current;
    this.current = emptyCounts();
    if (isEmpty(counts)) return;
    const held = this.pending.get(slot);
    this.pending.set(slot, held ? sum(held, counts) : counts);
    while (this.pending.size > MAX_PENDING_SLOTS)
      this.pending.delete(this.pending.keys().next().value as number);
  }

  private async write(): Promise<void> {
    this.takeCurrent();
    try {
      for (const [slot, counts] of this.pending) {
        await this.store.add(this.options.replica, slot, counts);
        this.pending.delete(slot);
      }
      if (Date.now() - this.lastPrune >= PRUNE_EVERY_MS) await this.prune();
      this.warned = false;
    } catch (err) {
      if (!this.warned) this.logger.warn({ err }, "dashboard rollups not written; kept for the next try");
      this.warned = true;
    }
  }

  private async prune(): Promise<void> {
    const nowS = Math.floor(Date.now() / 1000);
    await this.store.prune("10s", nowS - SLOT_KEEP_S);
    await this.store.prune("1m", nowS - Math.floor(this.options.keepMs / 1000));
    this.lastPrune = Date.now();
  }
}

/** The start (epoch seconds) of the 10-second slot holding `ms`. */
export function slotOf(ms: number): number {
  const s = Math.floor(ms / 1000);
  return s - (s % SLOT_S);
}

function isEmpty(c: RollupCounts): boolean {
  return c.cache + c.ondemand + c.timeout + c.error === 0;
}

function sum(a: RollupCounts, b: RollupCounts): RollupCounts {
  return {
    cache: a.cache + b.cache,
    ondemand: a.ondemand + b.ondemand,
    timeout: a.timeout + b.timeout,
    error: a.error + b.error,
    latency: a.latency.map((n, i) => n + (b.latency[i] ?? 0)),
  };
}
