/**
 * The worker client: takes jobs from the hub over MQTT, solves them with a WorkBackend, validates
 * the work itself and publishes `HASH,WORK,PAYOUT` (docs/wire-protocol.md). Built to run unattended for weeks:
 * it reconnects forever, pauses while the hub's heartbeat is missing, and turns backend failures
 * into retries with backoff instead of crashes.
 */
import { blake2b } from "@noble/hashes/blake2.js";
import { addressError } from "../nano/account.js";
import { expectedHashes } from "../nano/difficulty.js";
import { NanoInputError } from "../nano/errors.js";
import { bytesToHex, formatU64, parseHash } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import type { WorkBackend } from "../pow/backend.js";
import { parseFeedback } from "./feedback.js";
import { formatDuration, hubDifficultyNote } from "./format.js";
import { JobQueue, type QueuedJob } from "./job-queue.js";
import {
  type Connection,
  DEFAULT_RECONNECT,
  openConnection,
  type ReconnectPolicy,
  reconnectDelay,
} from "./mqtt-connection.js";
import { redactUrl } from "./redact-url.js";
import {
  formatResultPayload,
  parseCancelPayload,
  parseWorkPayload,
  topics,
  type WorkType,
  workTypeOf,
} from "./topics.js";

export type WorkChoice = "any" | WorkType;

/** The few logger methods the worker uses; a pino logger fits. */
export interface WorkerLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface WorkerOptions {
  /** Nano address credited for this worker's results. */
  payout: string;
  /** mqtt://user:pass@host:port, or ws:// / wss:// for MQTT over WebSocket. */
  server: string;
  /** Which jobs to take. */
  work?: WorkChoice;
  /** Solves the jobs. The worker owns it from now on: stop() closes it. */
  backend: WorkBackend;
  log?: WorkerLog;
  /** MQTT client id; default `dpow-worker-` + a digest of the payout address + a random suffix. */
  clientId?: string;
  /**
   * Ask the broker for a clean session, which it forgets on disconnect, instead of a persistent one
   * that keeps subscriptions and queued jobs for a worker that comes back (default: persistent).
   */
  cleanSession?: boolean;
  /** Hub counts as offline after this long without a heartbeat. */
  heartbeatTimeoutMs?: number;
  /** Most jobs waiting at once. */
  queueCapacity?: number;
  /** Backoff between broker reconnects. */
  reconnect?: ReconnectPolicy;
  /** Backoff after a backend failure before the next job. */
  backendRetry?: ReconnectPolicy;
  /** Tries per job before a failing backend's job is dropped. */
  maxAttempts?: number;
  /** Hash rate to show until the first jobs are solved (e.g. from the start-up benchmark). */
  initialHashRate?: number;
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "stopped";

export interface WorkerStatus {
  connection: ConnectionState;
  /** A heartbeat arrived within the timeout; jobs are only started while this holds. */
  hubOnline: boolean;
  queued: number;
  active: { hash: string; type: WorkType } | null;
  /** Results published. */
  done: number;
  /** Rewards the hub reported for this payout address. */
  accepted: number;
  /** Jobs cancelled by the hub while waiting or running. */
  cancelled: number;
  /** Jobs the backend failed on (each retried up to maxAttempts). */
  failed: number;
  /** The hub's latest counters for this payout address. */
  credits: { precache: number; ondemand: number } | null;
  /** This address's share of the current payout period (0..1), from the hub's latest counters. */
  share: number | null;
  /** The hub's latest error about this address's results (e.g. an invalid payout address). */
  hubError: { message: string; at: number } | null;
  lastReward: { hash: string; at: number } | null;
  /** Hashes per second: measured on solved jobs, or the initial estimate until then. */
  hashRate: number | null;
  /** Difficulty of the latest job from the hub. */
  hubDifficulty: bigint | null;
}

export interface RunningWorker {
  readonly clientId: string;
  status(): WorkerStatus;
  /** Called after every status change; returns the unsubscribe function. */
  onStatus(listener: (status: WorkerStatus) => void): () => void;
  /** Aborts the running job, disconnects and closes the backend. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Distinct job difficulties whose expected time per job is logged, per run. A hub sends one or two
 * (receive, send) plus what services ask for; the first few tell the volunteer what to expect,
 * more would only fill the log.
 */
export const DIFFICULTIES_ANNOUNCED = 4;

const silentLog: WorkerLog = { info: () => {}, warn: () => {}, error: () => {} };

/** Short, readable form of a block hash for log lines. */
const short = (hash: string) => `${hash.slice(0, 10)}…`;

function defaultClientId(payout: string): string {
  const digest = bytesToHex(blake2b(new TextEncoder().encode(payout), { dkLen: 4 }));
  return `dpow-worker-${digest}-${bytesToHex(crypto.getRandomValues(new Uint8Array(3)))}`;
}

/** Subscriptions for a work choice (docs/wire-protocol.md: `work/#` + `cancel/#` for any, else one type). */
function subscriptionsFor(work: WorkChoice, payout: string): Record<string, 0 | 1> {
  const jobs: Record<string, 0 | 1> =
    work === "any" ? { "work/#": 1, "cancel/#": 1 } : { [topics.work(work)]: 1, [topics.cancel(work)]: 1 };
  return { ...jobs, [topics.client(payout)]: 1, [topics.heartbeat]: 0 };
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const problem = addressError(options.payout);
  if (problem !== null) throw new NanoInputError(`payout address is invalid: ${problem}`);
  return new Worker(options);
}

/** What a worker takes where an option is not given (`dpow worker`'s flags show these). */
export const WORKER_DEFAULTS = {
  work: "any",
  heartbeatTimeoutMs: 5000,
  queueCapacity: 256,
  /** 1 s doubling to 30 s, for both. */
  reconnect: DEFAULT_RECONNECT,
  backendRetry: DEFAULT_RECONNECT,
  maxAttempts: 3,
} satisfies Required<
  Pick<
    WorkerOptions,
    "work" | "heartbeatTimeoutMs" | "queueCapacity" | "reconnect" | "backendRetry" | "maxAttempts"
  >
>;

class Worker implements RunningWorker {
  readonly clientId: string;
  private readonly log: WorkerLog;
  private readonly backend: WorkBackend;
  private readonly payout: string;
  private readonly queue: JobQueue;
  private readonly connection: Connection;
  private readonly listeners = new Set<(status: WorkerStatus) => void>();
  private readonly watchdog: ReturnType<typeof setInterval>;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly heartbeatTimeoutMs: number;
  private readonly backendRetry: ReconnectPolicy;
  private readonly maxAttempts: number;

  private connectionState: ConnectionState = "connecting";
  private hubOnline = false;
  private lastHeartbeat = Date.now();
  private silenceReported = false;
  private running: { job: QueuedJob; controller: AbortController; done: Promise<void> } | null = null;
  private backendFailures = 0;
  /** Set on a backend failure, cleared by the retry timer: no job starts during the backoff. */
  private backendPaused = false;
  private stopping: Promise<void> | undefined;
  private counters = { done: 0, accepted: 0, cancelled: 0, failed: 0 };
  private credits: WorkerStatus["credits"] = null;
  private share: number | null = null;
  private hubError: WorkerStatus["hubError"] = null;
  private lastReward: WorkerStatus["lastReward"] = null;
  private solved = { hashes: 0, seconds: 0 };
  private readonly initialHashRate: number | null;
  private readonly difficultiesAnnounced = new Set<bigint>();
  private hubDifficulty: bigint | null = null;

  constructor(options: WorkerOptions) {
    this.payout = options.payout;
    this.backend = options.backend;
    this.log = options.log ?? silentLog;
    this.clientId = options.clientId ?? defaultClientId(options.payout);
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? WORKER_DEFAULTS.heartbeatTimeoutMs;
    this.backendRetry = options.backendRetry ?? WORKER_DEFAULTS.backendRetry;
    this.maxAttempts = options.maxAttempts ?? WORKER_DEFAULTS.maxAttempts;
    this.initialHashRate = options.initialHashRate ?? null;
    this.queue = new JobQueue({ capacity: options.queueCapacity ?? WORKER_DEFAULTS.queueCapacity });

    const where = redactUrl(options.server);
    this.log.info({ server: where, clientId: this.clientId }, `connecting to ${where}`);
    this.connection = openConnection({
      url: options.server,
      clientId: this.clientId,
      clean: options.cleanSession ?? false,
      subscriptions: subscriptionsFor(options.work ?? WORKER_DEFAULTS.work, options.payout),
      reconnect: options.reconnect ?? WORKER_DEFAULTS.reconnect,
      handlers: {
        connected: (problem) => {
          this.connectionState = "connected";
          this.lastHeartbeat = Date.now();
          this.silenceReported = false;
          this.log.info({ server: where }, `connected to ${where}; waiting for the hub's heartbeat`);
          if (problem) this.log.error({ server: where }, `${problem}: check the --server account`);
          this.changed();
        },
        disconnected: (reason, retryInMs) => {
          this.connectionState = "reconnecting";
          // Without the broker the hub can neither be heard nor receive results: start nothing new
          // until a heartbeat arrives over the new connection.
          this.hubOnline = false;
          const hint = /not authorized|bad user ?name or password/i.test(reason)
            ? " (check the user name and password in --server)"
            : "";
          this.log.warn(
            { server: where, reason, retryInMs },
            `broker connection to ${where} lost or refused (${reason})${hint}; retrying in ${formatDuration(retryInMs / 1000)}`,
          );
          this.changed();
        },
        message: (topic, payload) => this.onMessage(topic, payload),
      },
    });
    this.watchdog = setInterval(() => this.checkHeartbeat(), Math.max(50, this.heartbeatTimeoutMs / 5));
  }

  status(): WorkerStatus {
    const active = this.queue.active;
    const measured = this.solved.seconds > 0 ? this.solved.hashes / this.solved.seconds : null;
    return {
      connection: this.stopping ? "stopped" : this.connectionState,
      hubOnline: this.hubOnline,
      queued: this.queue.size,
      active: active ? { hash: active.hash, type: active.type } : null,
      ...this.counters,
      credits: this.credits ? { ...this.credits } : null,
      share: this.share,
      hubError: this.hubError ? { ...this.hubError } : null,
      lastReward: this.lastReward ? { ...this.lastReward } : null,
      hashRate: measured ?? this.initialHashRate,
      hubDifficulty: this.hubDifficulty,
    };
  }

  onStatus(listener: (status: WorkerStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.watchdog);
      clearTimeout(this.retryTimer);
      const running = this.running;
      running?.controller.abort();
      await running?.done;
      await this.connection.close();
      await this.backend.close();
      this.log.info({}, "worker stopped");
      this.changed();
    })();
    return this.stopping;
  }

  private changed(): void {
    const status = this.status();
    for (const listener of this.listeners) listener(status);
  }

  private onMessage(topic: string, payload: Uint8Array): void {
    const type = workTypeOf(topic);
    if (topic === topics.heartbeat) this.onHeartbeat();
    else if (topic === topics.client(this.payout)) this.onFeedback(payload);
    else if (type !== null && topic === topics.work(type)) this.onWork(type, payload);
    else if (type !== null && topic === topics.cancel(type)) this.onCancel(type, payload);
  }

  private onHeartbeat(): void {
    this.lastHeartbeat = Date.now();
    this.silenceReported = false;
    if (this.hubOnline) return;
    this.hubOnline = true;
    this.log.info({ queued: this.queue.size }, "hub is online (heartbeat received); taking jobs");
    this.changed();
    this.pump();
  }

  /** Warns once per silence: the hub stopped beating, or was never heard since connecting. */
  private checkHeartbeat(): void {
    const silentFor = Date.now() - this.lastHeartbeat;
    if (this.connectionState !== "connected" || this.silenceReported || silentFor <= this.heartbeatTimeoutMs)
      return;
    this.silenceReported = true;
    const wasOnline = this.hubOnline;
    this.hubOnline = false;
    const silence = formatDuration(silentFor / 1000);
    this.log.warn(
      { silentForMs: silentFor, queued: this.queue.size },
      wasOnline
        ? `no heartbeat from the hub for ${silence}: not starting new jobs until it is back`
        : `connected ${silence} ago but no heartbeat from the hub yet: is the hub running, and is --server its broker?`,
    );
    this.changed();
  }

  private onWork(type: WorkType, payload: Uint8Array): void {
    const parsed = parseWorkPayload(payload);
    if (!parsed.ok) {
      this.log.warn({ topic: topics.work(type) }, `ignored a malformed job: ${parsed.error}`);
      return;
    }
    const { hash, difficulty } = parsed.value;
    this.onHubDifficulty(difficulty);
    const outcome = this.queue.offer({ hash, type, difficulty, receivedAt: Date.now() });
    if (outcome.kind === "queued" && outcome.shed) {
      this.log.warn(
        { hash: outcome.shed.hash },
        `queue full: dropped ${outcome.shed.type} job ${short(outcome.shed.hash)}`,
      );
    } else if (outcome.kind === "full") {
      this.log.warn({ hash }, `queue full of on-demand jobs: ignored precache job ${short(hash)}`);
    }
    this.changed();
    this.pump();
  }

  /** Remembers the hub's latest difficulty and, for the first few distinct ones, says what to expect. */
  private onHubDifficulty(difficulty: bigint): void {
    this.hubDifficulty = difficulty;
    const seen = this.difficultiesAnnounced;
    if (seen.has(difficulty) || seen.size >= DIFFICULTIES_ANNOUNCED) return;
    seen.add(difficulty);
    const hashRate = this.status().hashRate;
    this.log.info({ difficulty: formatU64(difficulty), hashRate }, hubDifficultyNote(difficulty, hashRate));
  }

  private onCancel(type: WorkType, payload: Uint8Array): void {
    const parsed = parseCancelPayload(payload);
    if (!parsed.ok) return;
    const outcome = this.queue.cancel(parsed.value, type);
    if (outcome === "unknown") return;
    this.counters.cancelled++;
    if (outcome === "active") this.running?.controller.abort();
    this.changed();
  }

  private onFeedback(payload: Uint8Array): void {
    const feedback = parseFeedback(payload);
    if (feedback.kind === "invalid") {
      this.log.warn({}, `ignored an unreadable message from the hub: ${feedback.reason}`);
      return;
    }
    if (feedback.kind === "error") {
      this.log.error({ error: feedback.error }, `the hub says: ${feedback.error}`);
      this.hubError = { message: feedback.error, at: Date.now() };
      this.changed();
      return;
    }
    this.credits = { precache: feedback.precache, ondemand: feedback.ondemand };
    if (feedback.share !== undefined) this.share = feedback.share;
    const totals = `credits: ${feedback.ondemand} on-demand, ${feedback.precache} precache`;
    if (feedback.blockRewarded) {
      this.counters.accepted++;
      this.lastReward = { hash: feedback.blockRewarded, at: Date.now() };
      this.log.info(
        { hash: feedback.blockRewarded, ...this.credits },
        `rewarded for ${short(feedback.blockRewarded)}; ${totals}`,
      );
    } else {
      this.log.info({ ...this.credits }, totals);
    }
    this.changed();
  }

  /** Starts the next job if nothing runs and nothing (hub offline, backend backoff) holds us back. */
  private pump(): void {
    if (this.running || this.stopping || !this.hubOnline || this.backendPaused) return;
    for (const job of this.queue.expire(Date.now())) {
      this.log.warn(
        { hash: job.hash },
        `dropped on-demand job ${short(job.hash)}: no service waits that long`,
      );
    }
    const job = this.queue.take();
    if (!job) return;
    const controller = new AbortController();
    const running = { job, controller, done: Promise.resolve() };
    this.running = running;
    running.done = this.solve(job, controller.signal).finally(() => {
      this.running = null;
      this.changed();
      this.pump();
    });
    this.changed();
  }

  private async solve(job: QueuedJob, signal: AbortSignal): Promise<void> {
    const root = parseHash(job.hash);
    this.log.info(
      { hash: job.hash, type: job.type, difficulty: formatU64(job.difficulty) },
      `working on ${job.type} ${short(job.hash)} at difficulty ${formatU64(job.difficulty)}`,
    );
    const started = performance.now();
    try {
      const { work } = await this.backend.generate(root, job.difficulty, { signal });
      if (signal.aborted) {
        this.queue.abandon();
        return;
      }
      // Never publish unchecked work: a faulty GPU or work server must not cost the payout address.
      const value = workValue(root, work);
      if (value < job.difficulty) {
        throw new Error(
          `backend returned work ${formatU64(work)} below difficulty ${formatU64(job.difficulty)}`,
        );
      }
      const tookSeconds = (performance.now() - started) / 1000;
      this.queue.complete(job.difficulty);
      this.connection.publish(
        topics.result(job.type),
        formatResultPayload({ hash: job.hash, work, address: this.payout }),
      );
      this.counters.done++;
      this.solved.hashes += expectedHashes(job.difficulty);
      this.solved.seconds += tookSeconds;
      this.backendFailures = 0;
      this.log.info(
        { hash: job.hash, type: job.type, work: formatU64(work), seconds: tookSeconds },
        `solved ${job.type} ${short(job.hash)} in ${formatDuration(tookSeconds)}; result sent`,
      );
    } catch (err) {
      if (signal.aborted) {
        this.queue.abandon();
        return;
      }
      this.onBackendFailure(job, err);
    }
  }

  private onBackendFailure(job: QueuedJob, err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    const { attempts, requeued } = this.queue.fail(this.maxAttempts);
    this.counters.failed++;
    const delay = reconnectDelay(this.backendFailures++, this.backendRetry);
    // The timer itself ends the pause. Comparing Date.now() with a deadline instead would strand the
    // queue: a timer may fire a millisecond before the wall clock reaches it, and nothing pumps again.
    this.backendPaused = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.backendPaused = false;
      this.pump();
    }, delay);
    const fate = requeued ? "put back in the queue" : `dropped after ${attempts} attempt(s)`;
    this.log.error(
      { hash: job.hash, backend: this.backend.name, reason, retryInMs: delay },
      `${this.backend.name} failed on ${short(job.hash)} (${reason}); job ${fate}; next job in ${formatDuration(delay / 1000)}`,
    );
  }
}
