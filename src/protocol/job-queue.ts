/**
 * The worker's job queue: pure bookkeeping, no I/O, so its rules can be property-tested.
 *
 * - Waiting jobs are taken in random order, so that many workers receiving the same broadcast spread
 *   over different jobs instead of all racing on the first one; on-demand jobs (a service is waiting)
 *   always go before precache jobs (nobody is waiting yet).
 * - One job is active at a time: the backend already uses every thread on it.
 * - A job for a hash that is waiting, active or recently done at the same or a higher difficulty is
 *   a duplicate and ignored (MQTT QoS 1 and reconnects can deliver a message twice).
 * - The queue is bounded; when full it sheds the oldest precache job first.
 * - A cancel names only a hash (docs/wire-protocol.md), so its topic says which jobs it ends: `cancel/ondemand`
 *   ends every job for the hash (an on-demand job is opened above any precache job for it, so its
 *   work covers them), `cancel/precache` only precache ones (a service may be waiting on a newer
 *   on-demand job for the same hash). An active job once cancelled no longer makes a new offer for
 *   its hash a duplicate: the hub repeats a job it opened just before a cancel for its hash.
 * - On-demand jobs expire: no service waits longer than the longest request timeout, so older ones
 *   are dropped unsolved rather than worked on for nobody (e.g. after the hub restarted).
 */
import { CodedError } from "../errors.js";
import type { WorkType } from "./topics.js";

/** A job as this worker received it from the hub, waiting in (or taken from) the queue. */
export interface QueuedJob {
  /** Canonical (upper-case) block hash, as the hub emits it. */
  hash: string;
  type: WorkType;
  difficulty: bigint;
  /** When the job arrived (ms, any monotonic clock the caller uses consistently). */
  receivedAt: number;
  /** Times the backend already failed on this job. */
  attempts?: number;
}

/** The longest a service can wait for on-demand work (docs/service-api.md: timeout 1..30 s). */
const ONDEMAND_TTL_MS = 30_000;

export type OfferOutcome =
  /** Queued; `shed` is the job dropped to make room, if any. */
  | { kind: "queued"; shed?: QueuedJob }
  /** Already waiting: merged (higher difficulty, on-demand wins over precache). */
  | { kind: "merged" }
  | { kind: "duplicate" }
  /** The queue is full of on-demand jobs and this is only a precache job. */
  | { kind: "full" };

export type CancelOutcome = "dropped" | "active" | "unknown";

export interface QueueOptions {
  capacity: number;
  /** How many finished hashes to remember for duplicate detection. */
  recentCapacity?: number;
  /** Uniform in [0, 1); injectable so tests are reproducible. */
  random?: () => number;
  ondemandTtlMs?: number;
}

export class JobQueue {
  /** In arrival order, oldest first. */
  private readonly waiting: QueuedJob[] = [];
  private activeJob: QueuedJob | null = null;
  /** The active job was cancelled: its owner is aborting it, and it covers no new offer. */
  private activeCancelled = false;
  /** Hash -> difficulty already delivered, oldest first (a Map keeps insertion order). */
  private readonly recent = new Map<string, bigint>();
  private readonly capacity: number;
  private readonly recentCapacity: number;
  private readonly random: () => number;
  private readonly ondemandTtlMs: number;

  constructor(options: QueueOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity < 1) {
      throw new CodedError(
        "DPOW_INVALID_OPTION",
        `queue capacity must be a positive integer, got ${options.capacity}`,
      );
    }
    this.capacity = options.capacity;
    this.recentCapacity = options.recentCapacity ?? 4096;
    this.random = options.random ?? Math.random;
    this.ondemandTtlMs = options.ondemandTtlMs ?? ONDEMAND_TTL_MS;
  }

  get size(): number {
    return this.waiting.length;
  }

  get active(): QueuedJob | null {
    return this.activeJob;
  }

  /** The waiting jobs, oldest first (a copy). */
  list(): QueuedJob[] {
    return this.waiting.map((job) => ({ ...job }));
  }

  offer(job: QueuedJob): OfferOutcome {
    const waiting = this.waiting.find((j) => j.hash === job.hash);
    if (waiting) {
      if (job.difficulty <= waiting.difficulty && (job.type === waiting.type || job.type === "precache")) {
        return { kind: "duplicate" };
      }
      if (job.difficulty > waiting.difficulty) waiting.difficulty = job.difficulty;
      if (job.type === "ondemand" && waiting.type === "precache") {
        // A service now waits for it: on-demand rules (priority, expiry) apply from now on.
        waiting.type = "ondemand";
        waiting.receivedAt = job.receivedAt;
      }
      return { kind: "merged" };
    }
    const covered =
      this.activeJob?.hash === job.hash && !this.activeCancelled
        ? this.activeJob.difficulty
        : this.recent.get(job.hash);
    if (covered !== undefined && covered >= job.difficulty) return { kind: "duplicate" };
    let shed: QueuedJob | undefined;
    if (this.waiting.length >= this.capacity) {
      shed = this.shedFor(job);
      if (!shed) return { kind: "full" };
    }
    this.waiting.push({ ...job });
    return shed ? { kind: "queued", shed } : { kind: "queued" };
  }

  /** Moves a random waiting job (on-demand first) to active. Only one job may be active. */
  take(): QueuedJob | undefined {
    if (this.activeJob) throw new Error("a job is already active; complete, abandon or fail it first");
    const ondemand = this.waiting.filter((j) => j.type === "ondemand");
    const pool = ondemand.length > 0 ? ondemand : this.waiting;
    if (pool.length === 0) return undefined;
    const pick = pool[Math.min(pool.length - 1, Math.floor(this.random() * pool.length))] as QueuedJob;
    this.waiting.splice(this.waiting.indexOf(pick), 1);
    this.activeJob = pick;
    this.activeCancelled = false;
    return { ...pick };
  }

  /** Drops and returns the on-demand jobs that arrived more than the TTL before `now`. */
  expire(now: number): QueuedJob[] {
    const expired = this.waiting.filter(
      (j) => j.type === "ondemand" && now - j.receivedAt > this.ondemandTtlMs,
    );
    for (const job of expired) this.waiting.splice(this.waiting.indexOf(job), 1);
    return expired;
  }

  /**
   * A cancel on `cancel/<type>`: drops the waiting job it ends, or reports that the active one must
   * be aborted by the caller. Without a type it ends any job for the hash.
   */
  cancel(hash: string, type: WorkType = "ondemand"): CancelOutcome {
    const ends = (j: QueuedJob) => j.hash === hash && (type === "ondemand" || j.type === "precache");
    const index = this.waiting.findIndex(ends);
    if (index >= 0) this.waiting.splice(index, 1);
    // A harder copy can wait while the easier one is active: the cancel ends both.
    if (this.activeJob === null || !ends(this.activeJob)) return index >= 0 ? "dropped" : "unknown";
    this.activeCancelled = true;
    return "active";
  }

  /** The active job delivered work at `difficulty`: later offers up to it are duplicates. */
  complete(difficulty: bigint): void {
    const job = this.requireActive();
    this.activeJob = null;
    this.recent.delete(job.hash);
    this.recent.set(job.hash, difficulty);
    if (this.recent.size > this.recentCapacity) {
      this.recent.delete(this.recent.keys().next().value as string);
    }
  }

  /** The active job ended without work and is not wanted any more (cancelled, worker stopping). */
  abandon(): void {
    this.requireActive();
    this.activeJob = null;
  }

  /**
   * The backend failed on the active job: it goes back in the queue as the newest job unless it has
   * now failed `maxAttempts` times (a job that breaks the backend must not block it forever).
   */
  fail(maxAttempts: number): { attempts: number; requeued: boolean } {
    const job = this.requireActive();
    this.activeJob = null;
    const attempts = (job.attempts ?? 0) + 1;
    // Cancelled while it ran: nobody wants it back.
    if (this.activeCancelled) return { attempts, requeued: false };
    const alreadyWaiting = this.waiting.some((j) => j.hash === job.hash);
    // A retry never sheds another job: it already had its chance.
    if (attempts >= maxAttempts || (!alreadyWaiting && this.waiting.length >= this.capacity)) {
      return { attempts, requeued: false };
    }
    this.offer({ ...job, attempts });
    return { attempts, requeued: true };
  }

  /** Empties the waiting list (the active job is left to its owner); returns what was dropped. */
  clear(): QueuedJob[] {
    return this.waiting.splice(0, this.waiting.length);
  }

  private requireActive(): QueuedJob {
    if (!this.activeJob) throw new Error("no job is active");
    return this.activeJob;
  }

  /** Removes and returns the job to drop so `incoming` fits, or undefined if `incoming` must go. */
  private shedFor(incoming: QueuedJob): QueuedJob | undefined {
    let index = this.waiting.findIndex((j) => j.type === "precache");
    // Full of on-demand jobs: a newer on-demand job is likelier to still have a service waiting.
    if (index < 0 && incoming.type === "ondemand") index = 0;
    if (index < 0) return undefined;
    return this.waiting.splice(index, 1)[0];
  }
}
