/**
 * The hub's ports: the small interfaces through which the hub's logic reaches the outside world.
 * Each has an embedded implementation (one process, no external services) and a scale-out one
 * (external MQTT broker, Redis, Postgres); the hub's logic is the same for both.
 */
import { CodedError } from "../errors.js";
import type { WorkType } from "../protocol/topics.js";

/**
 * Who published a message, where the broker can tell: the embedded broker knows each connection;
 * an external broker does not say, and its handlers get no publisher. Payload fields (a result's
 * payout address) are not this: anyone may write anything there.
 */
export interface Publisher {
  /** The MQTT client id of the connection. */
  clientId: string;
  /** The remote IP address of the connection, when known. */
  address?: string;
  /** The broker account it logged in as, when known. */
  username?: string;
}

export type MessageHandler = (topic: string, payload: Buffer, publisher?: Publisher) => void;

export interface PublishOptions {
  retain?: boolean;
  qos?: 0 | 1;
}

/** Publish/subscribe as the `dpowserver` account. */
export interface Broker {
  publish(topic: string, payload: string | Buffer, options?: PublishOptions): Promise<void>;
  /** `pattern` may use MQTT wildcards (`result/#`); the handler sees every matching message. */
  subscribe(pattern: string, handler: MessageHandler): Promise<void>;
  /**
   * Drops the connection `publisher` names and refuses that client id from that address for
   * `refuseMs` (embedded broker only; an external broker has its own limits).
   */
  disconnect?(publisher: Publisher, refuseMs: number): void;
  close(): Promise<void>;
}

/** Work is either computed on demand for a waiting service, or in advance (precache). */
export type JobType = WorkType;

/** A broadcast job: the hash (upper-case hex) being worked on, at which difficulty, since when. */
export interface Job {
  /** Unique per opening: a job reopened at a higher difficulty gets a new id (and a new lock). */
  id: string;
  hash: string;
  type: JobType;
  difficulty: bigint;
  /** The service that opened it (credited in the win record), or null for precache. */
  service: string | null;
  openedAt: number;
}

/** Work already found for a hash, and the value it reaches. */
export interface CachedWork {
  hash: string;
  work: bigint;
  value: bigint;
}

export interface OpenJobRequest {
  hash: string;
  type: JobType;
  difficulty: bigint;
  service: string | null;
  /** How long the job stays open when nobody solves it. */
  ttlMs: number;
}

/**
 * Shared state of in-flight work: which hashes are being worked on, who won each job, and the
 * work already found. In-memory for one hub; Redis when several hub replicas share the work.
 */
export interface Coordinator {
  /**
   * Opens a job for `hash` unless one is open at a difficulty >= the one asked; then that open job
   * is returned with `created: false` and its expiry is extended to at least `ttlMs` from now.
   */
  openJob(request: OpenJobRequest): Promise<{ job: Job; created: boolean }>;
  job(hash: string): Promise<Job | undefined>;
  /** Closes the job for `hash` if it is still the job `jobId` (a newer job is left alone). */
  closeJob(hash: string, jobId: string): Promise<void>;
  /** First-result lock: true for exactly one caller per job id, ever (atomic set-if-absent). */
  claimWin(jobId: string): Promise<boolean>;
  cacheWork(work: CachedWork): Promise<void>;
  cachedWork(hash: string): Promise<CachedWork | undefined>;
  /** Forgets the work held for `hash` (precache: its block was superseded, the work is useless now). */
  dropWork(hash: string): Promise<void>;
  /** The latest known block hash of an account (for precache: its next block's root). */
  setFrontier(account: string, hash: string): Promise<void>;
  frontier(account: string): Promise<string | undefined>;
  openJobCount(): Promise<number>;
  close(): Promise<void>;
}

export interface ServiceSettings {
  public: boolean;
  display: string;
  website: string;
  /** Requests per second allowed (token bucket refill); 0 means unlimited. */
  rate: number;
  /** Requests allowed at once above the steady rate (bucket size). */
  burst: number;
}

export interface WorkCounters {
  precache: number;
  ondemand: number;
}

export interface ServiceRecord extends ServiceSettings, WorkCounters {
  name: string;
  /** Hash of the API key (hex); the key itself is never stored. */
  keyHash: string;
  createdAt: number;
}

/** One solved job, credited to one worker: the row payouts are computed from. */
export interface Win {
  /** The coordinator's job id: a win is recorded at most once per job. */
  jobId: string;
  hash: string;
  type: JobType;
  worker: string;
  service: string | null;
  difficulty: bigint;
  work: bigint;
  at: number;
}

/** The `statistics` payload (docs/wire-protocol.md). */
export interface Statistics {
  services: {
    public: Array<{ display: string; website: string } & WorkCounters>;
    private: { count: number } & WorkCounters;
  };
  work: WorkCounters;
}

/**
 * Durable records: services and their keys, wins and the counters derived from them. SQLite for
 * one hub; Postgres when several replicas share it. Every write is durable when the promise
 * resolves.
 */
export interface Ledger {
  /** Throws LedgerError when the name is taken. */
  addService(name: string, keyHash: string, settings: ServiceSettings): Promise<ServiceRecord>;
  service(name: string): Promise<ServiceRecord | undefined>;
  services(): Promise<ServiceRecord[]>;
  /** Throws LedgerError when the service does not exist. */
  updateService(name: string, changes: Partial<ServiceSettings>): Promise<ServiceRecord>;
  deleteService(name: string): Promise<boolean>;
  setServiceKey(name: string, keyHash: string): Promise<boolean>;
  /** Adds request counts served to services (counts are batched by the hub). */
  addServiceCounts(counts: ReadonlyMap<string, WorkCounters>): Promise<void>;
  /**
   * Records a win and credits the worker in one transaction. `recorded` is false (and nothing
   * changes) when this job was already recorded. Returns the worker's counters after it.
   */
  recordWin(win: Win): Promise<{ recorded: boolean; counters: WorkCounters }>;
  workerCounters(worker: string): Promise<WorkCounters>;
  /**
   * The best work (highest value) an on-demand win holds for `hash`, or undefined. Unlike the
   * coordinator's cache it survives a crash, so a service retrying a hash solved just before one
   * gets that work and no second worker is paid for it. Precache wins are left out: precache keeps
   * its own work across restarts and drops it on purpose when the block is superseded. Callers
   * re-validate it before use.
   */
  solvedWork(hash: string): Promise<CachedWork | undefined>;
  statistics(): Promise<Statistics>;
  close(): Promise<void>;
}

/** A ledger operation refused for a reason the operator can fix (duplicate or unknown name). */
export class LedgerError extends CodedError {
  override name = "LedgerError";
  constructor(message: string) {
    super("DPOW_LEDGER_REFUSED", message);
  }
}

/**
 * A store or broker (SQLite file, Redis, PostgreSQL, external MQTT broker) could not be reached or
 * used at start: start it or fix its flag. The message names the flag; the CLI prints it as one line.
 */
export class StoreUnreachableError extends CodedError {
  override name = "StoreUnreachableError";
  constructor(message: string) {
    super("DPOW_STORE_UNREACHABLE", message);
  }
}

/** Requests of one time slot, by how they ended, and the answer times of the answered ones. */
export interface RollupCounts {
  cache: number;
  ondemand: number;
  timeout: number;
  error: number;
  /** Answered requests per latency bucket: LATENCY_BUCKETS_S (metrics.ts), then one for slower. */
  latency: number[];
}

/** Rollups summed over every replica for one step that starts at `startS` (epoch seconds). */
export interface RollupPoint extends RollupCounts {
  startS: number;
}

/**
 * The dashboard's history: request counts per 10-second slot (kept about an hour) and per minute
 * (kept for the history flag), in the ledger's database. Each replica adds to rows of its own and
 * readers sum them, so replicas never contend for a row and any number may write.
 */
export interface RollupStore {
  /** Adds `counts` to `replica`'s 10-second slot starting at `slotS` and to the minute holding it. */
  add(replica: string, slotS: number, counts: RollupCounts): Promise<void>;
  /**
   * Sums of every replica's rows of `span` ("10s" slots or "1m" minutes) with fromS <= start < toS,
   * grouped into steps of `stepS` seconds (a multiple of the span); steps without rows are left out.
   */
  read(span: "10s" | "1m", fromS: number, toS: number, stepS: number): Promise<RollupPoint[]>;
  /** Deletes the rows of `span` that start before `beforeS`; resolves with how many. */
  prune(span: "10s" | "1m", beforeS: number): Promise<number>;
  close(): Promise<void>;
}

/** One worker's work in the current payout period, weighed as the payout plan weighs it. */
export interface PeriodWork extends WorkCounters {
  worker: string;
  /** Difficulty-weighted work in the payout plan's fixed-point units; shares are weight / total. */
  weight: bigint;
}

/**
 * The current payout period: the work each worker did since its last completed payout, weighted
 * as the payout plan weighs it, and the last payout made. The dashboard shows it and each worker's
 * share in its `client/` messages comes from it. Implemented by the payouts module over its store
 * (payouts depend on the hub, not the other way round); reads only.
 */
export interface PayoutPeriod {
  workers(): Promise<PeriodWork[]>;
  lastPayout(): Promise<{ at: number; workers: number; amount: bigint } | undefined>;
  close(): Promise<void>;
}
