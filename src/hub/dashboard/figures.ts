import { addressError, canonicalAddress } from "../../nano/account.js";
import { formatU64 } from "../../nano/hex.js";
import {
  HISTORY_RANGES,
  type History,
  type HistoryRange,
  type PeriodWorker,
  type RequestFigures,
  type Summary,
  type WorkerView,
} from "../../protocol/dashboard.js";
import type {
  Ledger,
  PayoutPeriod,
  PeriodWork,
  RollupCounts,
  RollupPoint,
  RollupStore,
  Statistics,
} from "../ports.js";
import { quantileMs } from "./latency.js";
import { SLOT_S, slotOf } from "./recorder.js";
import { Refreshing } from "./refreshing.js";

/** What the figures are read from: the hub's own state, its ledger, rollups and payout period. */
export interface FigureSources {
  startedAt: number;
  base: bigint;
  workersConnected: () => number;
  openJobs: () => Promise<number>;
  ledger: Pick<Ledger, "statistics" | "workerCounters">;
  rollups: RollupStore;
  period?: PayoutPeriod;
}

/** Workers listed in the summary's top of the period. */
const TOP_WORKERS = 10;

/**
 * How stale each figure may be: the summary is the live feed's tick (at most once a second,
 * whoever asks); statistics and rollup history change slowly. The payout period is one query over
 * every win (a full scan of the wins on SQLite, which blocks the hub while it runs): computed only
 * while somebody looks, again after `periodOnChange` once the work counters moved, else once a
 * minute (a payout changes it without moving them).
 */
const MAX_AGE_MS = {
  summary: 1000,
  statistics: 5000,
  period: 60_000,
  periodOnChange: 5000,
  "1h": 5000,
  "24h": 30_000,
  "30d": 300_000,
};

/** Computes the dashboard's public JSON (protocol/dashboard.ts), each figure at most as often as MAX_AGE_MS. */
export class DashboardFigures {
  readonly summary: () => Promise<Summary>;
  private readonly statistics: Refreshing<Statistics>;
  private readonly period: Refreshing<{
    work: string;
    workers: PeriodWork[];
    lastPayout: Summary["last_payout"];
  }>;
  private readonly histories = new Map<HistoryRange, Refreshing<History>>();
  /** The work counters last seen (precache/ondemand): a period computed before they moved is stale. */
  private work = "";

  constructor(private readonly sources: FigureSources) {
    const summary = new Refreshing(MAX_AGE_MS.summary, () => this.computeSummary());
    this.summary = () => summary.get();
    this.statistics = new Refreshing(MAX_AGE_MS.statistics, () => sources.ledger.statistics());
    this.period = new Refreshing(MAX_AGE_MS.period, () => this.readPeriod());
    for (const range of Object.keys(HISTORY_RANGES) as HistoryRange[]) {
      this.histories.set(range, new Refreshing(MAX_AGE_MS[range], () => this.computeHistory(range)));
    }
  }

  history(range: HistoryRange): Promise<History> {
    return (this.histories.get(range) as Refreshing<History>).get();
  }

  /** A worker's counters and share of the period; undefined for text that is not a Nano address. */
  async worker(address: string): Promise<WorkerView | undefined> {
    if (addressError(address) !== null) return undefined;
    const canonical = canonicalAddress(address);
    const [lifetime, period] = await Promise.all([
      this.sources.ledger.workerCounters(canonical),
      this.period.get(),
    ]);
    const ranked = rank(period.workers);
    const index = ranked.findIndex((w) => w.address === canonical);
    const mine = ranked[index];
    return {
      address: canonical,
      lifetime: { precache: lifetime.precache, ondemand: lifetime.ondemand },
      period: {
        precache: mine?.precache ?? 0,
        ondemand: mine?.ondemand ?? 0,
        share: mine?.share ?? 0,
        rank: mine ? index + 1 : null,
        workers: ranked.length,
      },
    };
  }

  private async computeSummary(): Promise<Summary> {
    const now = Date.now();
    const slot = slotOf(now);
    const { sources } = this;
    const [openJobs, hour, statistics] = await Promise.all([
      sources.openJobs(),
      sources.rollups.read("10s", slot - 3600 + SLOT_S, slot + SLOT_S, SLOT_S),
      this.statistics.get(),
    ]);
    this.work = `${statistics.work.precache}/${statistics.work.ondemand}`;
    if ((await this.period.get()).work !== this.work) this.period.expireOlderThan(MAX_AGE_MS.periodOnChange);
    const period = await this.period.get();
    const lastHour = total(hour);
    const answered = lastHour.cache + lastHour.ondemand;
    const { work } = statistics;
    const ranked = rank(period.workers);
    return {
      at: now,
      hub: {
        online: true,
        started_at: sources.startedAt,
        uptime_s: Math.floor((now - sources.startedAt) / 1000),
        base_difficulty: formatU64(sources.base),
        workers_connected: sources.workersConnected(),
        open_jobs: openJobs,
      },
      last_minute: figures(total(hour.filter((p) => p.startS > slot - 60))),
      last_hour: figures(lastHour),
      cache_hit_share: answered === 0 ? null : lastHour.cache / answered,
      precache_share:
        work.precache + work.ondemand === 0 ? null : work.precache / (work.precache + work.ondemand),
      work: { precache: work.precache, ondemand: work.ondemand },
      services: statistics.services,
      period: {
        workers: ranked.length,
        precache: ranked.reduce((n, w) => n + w.precache, 0),
        ondemand: ranked.reduce((n, w) => n + w.ondemand, 0),
        top: ranked.slice(0, TOP_WORKERS),
      },
      last_payout: period.lastPayout,
    };
  }

  private async readPeriod() {
    const { work } = this;
    const period = this.sources.period;
    if (!period) return { work, workers: [], lastPayout: null };
    const [workers, last] = await Promise.all([period.workers(), period.lastPayout()]);
    return {
      work,
      workers,
      lastPayout: last ? { at: last.at, workers: last.workers, amount_raw: last.amount.toString() } : null,
    };
  }

  private async computeHistory(range: HistoryRange): Promise<History> {
    const { step_s: step, points } = HISTORY_RANGES[range];
    const nowS = Math.floor(Date.now() / 1000);
    const last = nowS - (nowS % step);
    const from = last - (points - 1) * step;
    const rows = await this.sources.rollups.read(range === "1h" ? "10s" : "1m", from, last + step, step);
    const byStart = new Map(rows.map((row) => [row.startS, row]));
    const history: History = {
      range,
      step_s: step,
      t: [],
      cache: [],
      ondemand: [],
      timeout: [],
      error: [],
      p50_ms: [],
      p99_ms: [],
    };
    for (let t = from; t <= last; t += step) {
      const f = figures(byStart.get(t) ?? emptyCounts());
      history.t.push(t);
      history.cache.push(f.cache);
      history.ondemand.push(f.ondemand);
      history.timeout.push(f.timeout);
      history.error.push(f.error);
      history.p50_ms.push(f.p50_ms);
      history.p99_ms.push(f.p99_ms);
    }
    return history;
  }
}

/** The period's workers by credits (ties: by weight, then address), with their shares. */
function rank(workers: readonly PeriodWork[]): PeriodWorker[] {
  const weight = workers.reduce((sum, w) => sum + w.weight, 0n);
  return workers
    .map((w) => ({
      address: w.worker,
      precache: w.precache,
      ondemand: w.ondemand,
      // Parts per million in bigint, then a number: exact enough for a share shown as a percentage.
      share: weight === 0n ? 0 : Number((w.weight * 1_000_000n) / weight) / 1_000_000,
      weight: w.weight,
    }))
    .sort(
      (a, b) =>
        b.precache + b.ondemand - (a.precache + a.ondemand) ||
        (a.weight === b.weight ? a.address.localeCompare(b.address) : a.weight > b.weight ? -1 : 1),
    )
    .map(({ weight: _, ...w }) => w);
}

function emptyCounts(): RollupCounts {
  return { cache: 0, ondemand: 0, timeout: 0, error: 0, latency: [] };
}

function total(points: readonly RollupPoint[]): RollupCounts {
  const sum = emptyCounts();
  for (const p of points) {
    sum.cache += p.cache;
    sum.ondemand += p.ondemand;
    sum.timeout += p.timeout;
    sum.error += p.error;
    sum.latency = p.latency.map((n, i) => n + (sum.latency[i] ?? 0));
  }
  return sum;
}

function figures(c: RollupCounts): RequestFigures {
  return {
    cache: c.cache,
    ondemand: c.ondemand,
    timeout: c.timeout,
    error: c.error,
    p50_ms: quantileMs(c.latency, 0.5),
    p99_ms: quantileMs(c.latency, 0.99),
  };
}
