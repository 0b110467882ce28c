import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * How a service request ended: the `outcome` label of `dpow_requests_total`. Listed (not only
 * typed) so that a test can hold the README and docs/metrics.md to every one.
 */
export const REQUEST_OUTCOMES = [
  "cache",
  "work",
  "timeout",
  "bad_request",
  "credentials",
  "throttled",
  "shutting_down",
  "unavailable",
  "internal",
] as const;
export type RequestOutcome = (typeof REQUEST_OUTCOMES)[number];

/** What became of a result a worker published: the `outcome` label of `dpow_results_total`. */
export const RESULT_OUTCOMES = [
  "win",
  "late",
  "invalid",
  "garbage",
  "ignored",
  "bad_address",
  "partial",
  // A result after the job was won that beats the held work: kept, not credited (precache).
  "improved",
] as const;
export type ResultOutcome = (typeof RESULT_OUTCOMES)[number];

/**
 * Upper bounds (seconds) of the answer-time histogram: from a cache hit (well under a millisecond)
 * to the longest timeout a service may ask for (30 s). The dashboard's rollups keep the same buckets.
 */
export const LATENCY_BUCKETS_S = [
  0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30,
] as const;

/** Told of every service request as it ends (the dashboard's rollups); `seconds` for answered ones. */
export type RequestListener = (outcome: RequestOutcome, seconds?: number) => void;

/** Connections refused so far (or closed unread) by one listener, by reason. */
export interface RefusalCounts {
  listener: "http" | "mqtt";
  /** cap: the hub's cap in all; per_address: one address's cap; login: a failed MQTT login. */
  counts: Partial<Record<"cap" | "per_address" | "login", number>>;
}

export interface MetricsSources {
  workersConnected: () => number;
  openJobs: () => Promise<number>;
  waitingRequests: () => number;
}

/** The hub's Prometheus metrics, in a registry of its own (several hubs can share one process in tests). */
export class HubMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "dpow_requests_total",
    help: "Service requests by outcome",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "dpow_request_duration_seconds",
    help: "Time to answer a service request with work, by where the work came from",
    labelNames: ["source"] as const,
    buckets: [...LATENCY_BUCKETS_S],
    registers: [this.registry],
  });
  readonly results = new Counter({
    name: "dpow_results_total",
    help: "Results published by workers, by outcome (invalid = work below the job's difficulty)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  /** Who counts refused connections (the HTTP front, the embedded broker); read at each scrape. */
  private readonly refusalSources: Array<() => RefusalCounts> = [];

  constructor(sources: MetricsSources) {
    const refusalSources = this.refusalSources;
    new Counter({
      name: "dpow_connections_refused_total",
      help: "Connections refused or closed unread, by listener (http, mqtt) and reason (cap, per_address, login)",
      labelNames: ["listener", "reason"] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const source of refusalSources) {
          const { listener, counts } = source();
          for (const [reason, count] of Object.entries(counts)) this.inc({ listener, reason }, count ?? 0);
        }
      },
    });
    new Gauge({
      name: "dpow_workers_connected",
      help: "MQTT clients connected to the embedded broker",
      registers: [this.registry],
      collect() {
        this.set(sources.workersConnected());
      },
    });
    new Gauge({
      name: "dpow_open_jobs",
      help: "Jobs broadcast and not yet solved or expired",
      registers: [this.registry],
      async collect() {
        this.set(await sources.openJobs());
      },
    });
    new Gauge({
      name: "dpow_waiting_requests",
      help: "Service requests waiting for a worker's result on this hub",
      registers: [this.registry],
      collect() {
        this.set(sources.waitingRequests());
      },
    });
  }

  private readonly listeners: RequestListener[] = [];

  /** Counts a request that ended; an answered one (`seconds` given) also in the answer-time histogram. */
  request(outcome: RequestOutcome, seconds?: number): void {
    this.requests.inc({ outcome });
    if (seconds !== undefined) this.latency.observe({ source: outcome }, seconds);
    for (const listener of this.listeners) listener(outcome, seconds);
  }

  onRequest(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  countRefusals(source: () => RefusalCounts): void {
    this.refusalSources.push(source);
  }

  result(outcome: ResultOutcome): void {
    this.results.inc({ outcome });
  }
}
