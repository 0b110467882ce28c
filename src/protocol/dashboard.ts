/**
 * The dashboard's public JSON (`/api/v1/...`, README "Dashboard"): aggregates only. Nothing here
 * may ever carry a result, a job's hash or its work: whoever sees a winning result before the
 * hub's cancel lands can republish it under another payout address. Fields are
 * snake_case and only ever added to, so other dashboards can rely on them.
 */

/** Service requests by how they ended, and how fast the answered ones were. */
export interface RequestFigures {
  /** Answered from the hub's cache (precache, or work already found for the hash). */
  cache: number;
  /** Answered with work a worker computed for the request. */
  ondemand: number;
  /** No worker answered in time. */
  timeout: number;
  /** Refused or failed (bad request, credentials, throttled, shutting down, internal). */
  error: number;
  /** Answer time of answered requests (cache and on-demand), estimated from a histogram; null with none. */
  p50_ms: number | null;
  p99_ms: number | null;
}

/** Work done for services, by kind. */
export interface WorkFigures {
  precache: number;
  ondemand: number;
}

export interface PublicService extends WorkFigures {
  display: string;
  website: string;
}

/** One worker of the current payout period. */
export interface PeriodWorker extends WorkFigures {
  address: string;
  /** The worker's share of the period's payout as the payout plan weighs work (0..1). */
  share: number;
}

export interface Summary {
  /** When this summary was computed (ms since the epoch). */
  at: number;
  hub: {
    online: true;
    started_at: number;
    uptime_s: number;
    /** Send base difficulty, 16 hex digits. */
    base_difficulty: string;
    /** Workers connected to this hub's broker (0 with an external broker, which does not say). */
    workers_connected: number;
    open_jobs: number;
  };
  /** The last full minute, summed over replicas: requests per minute. */
  last_minute: RequestFigures;
  last_hour: RequestFigures;
  /** Cache answers among answered requests in the last hour (0..1), null with none. */
  cache_hit_share: number | null;
  /** Precache among all work done so far (0..1), null with none. */
  precache_share: number | null;
  work: WorkFigures;
  services: { public: PublicService[]; private: WorkFigures & { count: number } };
  /** Work since each worker's last payout, as the next payout plan would count it. */
  period: { workers: number; precache: number; ondemand: number; top: PeriodWorker[] };
  last_payout: { at: number; workers: number; amount_raw: string } | null;
}

export type HistoryRange = "1h" | "24h" | "30d";

/** Steps of each range (seconds) and how many of them it shows. */
export const HISTORY_RANGES: Record<HistoryRange, { step_s: number; points: number }> = {
  "1h": { step_s: 10, points: 360 },
  "24h": { step_s: 60, points: 1440 },
  "30d": { step_s: 3600, points: 720 },
};

/** Columns of equal length, one entry per step, oldest first (`t` is the step's start, epoch seconds). */
export interface History {
  range: HistoryRange;
  step_s: number;
  t: number[];
  cache: number[];
  ondemand: number[];
  timeout: number[];
  error: number[];
  p50_ms: Array<number | null>;
  p99_ms: Array<number | null>;
}

export interface WorkerView {
  address: string;
  /** Everything the worker was ever credited with. */
  lifetime: WorkFigures;
  /** Since its last payout; share 0 and rank null when it has done nothing yet this period. */
  period: WorkFigures & { share: number; rank: number | null; workers: number };
}

/** Paths of the public JSON and of the live feed (server-sent events of Summary, at most once a second). */
export const API_PATHS = {
  summary: "/api/v1/summary",
  history: "/api/v1/history",
  workers: "/api/v1/workers/",
  live: "/api/v1/live",
} as const;
