import type { Logger } from "pino";
import { canonicalAddress } from "../nano/account.js";
import { workValue } from "../nano/work.js";
import {
  formatCancelPayload,
  formatWorkPayload,
  parseResultPayload,
  topics,
  workTypeOf,
} from "../protocol/topics.js";
import type { Accounting } from "./accounting.js";
import { ExpiringMap } from "./coordinator/expiring-map.js";
import { deadline, TIMED_OUT } from "./deadline.js";
import type { HubMetrics, ResultOutcome } from "./metrics.js";
import type { Broker, CachedWork, Coordinator, Job, OpenJobRequest, Publisher } from "./ports.js";
import { Waiters, type WaitRequest, type WorkOutcome } from "./waiters.js";
import { connectionKey, type WorkerPenalties } from "./worker-penalties.js";

export type { WorkOutcome } from "./waiters.js";

/**
 * Valid results remembered for jobs another replica claimed (see passedBy): one per open job at
 * most, and open jobs are bounded by the requests and precache a hub takes; this caps them anyway.
 */
const PASSED_BY_LIMIT = 10_000;

export interface WorkRequest extends WaitRequest {
  /** The service asking (credited in the win record), or null. Aborting the signal leaves the job open. */
  service: string | null;
}

/** Who a winning result pays: its canonical `nano_` account, or null when its address is invalid. */
interface Payee {
  account: string | null;
  /** The address as sent: its `client/` topic, where the worker listens. */
  address: string;
}

/** A valid result that pays `payee` for `job`; `work` reaches `value`. */
interface Solve {
  job: Job;
  payee: Payee;
  work: bigint;
  value: bigint;
}

/**
 * What judging a result decided: the outcome it is counted under and, for work that is to be
 * credited, the solve to credit. Counting happens in one place (onResult), before the crediting,
 * so the metric does not wait for the store.
 */
type Verdict =
  /** The first valid result for the job: credit it, answer, close and cancel the job. */
  | { outcome: "win" | "bad_address"; win: Solve }
  /** A late result that answers requests here once its credit is durable (see judgeWinner). */
  | { outcome: "late"; lateCredit: Solve }
  | { outcome: ResultOutcome };

export interface WorkFlowDeps {
  broker: Broker;
  coordinator: Coordinator;
  accounting: Accounting;
  penalties: WorkerPenalties;
  metrics: HubMetrics;
  logger: Logger;
  options: WorkFlowOptions;
}

export interface WorkFlowOptions {
  /** How long a job stays open after its last request times out, so a retry does not broadcast again. */
  jobGraceMs: number;
  /**
   * The lowest difficulty this hub broadcasts (its receive threshold): work below it is garbage
   * whatever job it names, and is charged to its connection without a job look-up. Default 0.
   */
  minDifficulty?: bigint;
}

/**
 * The on-demand flow: answer from the work cache, else broadcast a job and wait for the first
 * valid result. Storage lives behind the Coordinator port, so several hub replicas (each with its
 * own waiting requests) can share jobs: every replica judges every result and answers its own
 * waiters, and the coordinator's first-result lock lets exactly one of them credit the win.
 */
export class WorkFlow {
  private readonly waiters = new Waiters();
  /** Values of cached work this process has hashed, by the cache's object (see verifiedValue). */
  private readonly verified = new WeakMap<CachedWork, bigint>();
  /** Jobs this replica won and is crediting now: their winner, not a later result, answers. */
  private readonly crediting = new Set<string>();
  private closed = false;
  /** Results being judged or credited now. */
  private readonly handling = new Set<Promise<void>>();
  /**
   * A valid result for a job another replica claimed, judged here while no request here waited
   * for it, by hash. A request here that joins the job a moment later (its cache check came before
   * the claimer cached the work) would otherwise wait for results that have all gone by, until its
   * timeout: it takes this one instead, as a late result (see creditLate).
   */
  private readonly passedBy = new ExpiringMap<string, Solve>(PASSED_BY_LIMIT);

  constructor(private readonly deps: WorkFlowDeps) {}

  async start(): Promise<void> {
    await this.deps.broker.subscribe(topics.allResults, (topic, payload, publisher) => {
      // Closed: nobody here waits for work any more, and the broker may close under a late handler.
      if (this.closed) return;
      const handled = this.onResult(topic, payload, publisher)
        .catch((err: unknown) => this.deps.logger.error({ err, topic }, "handling a result failed"))
        .finally(() => this.handling.delete(handled));
      this.handling.add(handled);
    });
  }

  /**
   * Work for `request.hash` reaching `request.difficulty`, or a timeout. The timeout covers the
   * whole request: a store or broker call that is slow (a pool waiting for a connection, a
   * publish waiting for the broker's acknowledgement) never holds the answer past it.
   */
  async work(request: WorkRequest): Promise<WorkOutcome> {
    if (this.closed) return { kind: "closed" };
    const endsAt = performance.now() + request.timeoutMs;
    const expiry = deadline(request.timeoutMs, request.signal);
    try {
      const cached = await Promise.race([this.heldWork(request.hash), expiry.expired]);
      if (cached === TIMED_OUT) return { kind: "timeout" };
      if (cached && cached.value >= request.difficulty) {
        const value = this.verifiedValue(request.hash, cached);
        if (value >= request.difficulty) return { kind: "cache", work: cached.work, value };
      }
      // Wait before broadcasting, so that even an instant result finds this request.
      const outcome = this.waiters.wait({ ...request, timeoutMs: Math.max(0, endsAt - performance.now()) });
      const broadcast = this.broadcast({
        hash: request.hash,
        type: "ondemand",
        difficulty: request.difficulty,
        service: request.service,
        ttlMs: request.timeoutMs + this.deps.options.jobGraceMs,
      });
      // The waiter answers at the deadline even while the broadcast is still under way.
      return await Promise.race([broadcast.then(() => outcome), outcome]);
    } finally {
      expiry.cancel();
    }
  }

  /**
   * Work ahead of need: broadcasts a precache job for `hash` unless work at `difficulty` is cached
   * or a job for it is open. Its result fills the cache; true when a job was broadcast.
   */
  async precache(hash: string, difficulty: bigint, ttlMs: number): Promise<boolean> {
    if (this.closed) return false;
    const cached = await this.heldWork(hash);
    if (cached && cached.value >= difficulty) return false;
    // Any open job (an on-demand one included) will cache its result: a second job would pay twice.
    if (await this.deps.coordinator.job(hash)) return false;
    return this.broadcast({ hash, type: "precache", difficulty, service: null, ttlMs });
  }

  /**
   * Stops the on-demand job for `hash` that `service` opened, and tells the workers, unless a
   * request on this hub still waits on it: a client that gave up (a Nano node's work_cancel) must
   * not take the work away from others. True when the job was closed.
   */
  async abandon(hash: string, service: string): Promise<boolean> {
    if (this.waiters.has(hash)) return false;
    const job = await this.deps.coordinator.job(hash);
    if (job?.type !== "ondemand" || job.service !== service || this.waiters.has(hash)) return false;
    await this.deps.coordinator.closeJob(hash, job.id);
    await this.cancel(job);
    this.deps.logger.debug({ hash, job: job.id, service }, "job cancelled by its service");
    return true;
  }

  /**
   * Work found for `hash`: the coordinator's cache, else the best work a recorded win holds (the
   * cache dies with a hub that crashed after crediting a win but before answering; without this a
   * retry would broadcast again and pay a second worker), put back in the cache.
   */
  private async heldWork(hash: string): Promise<CachedWork | undefined> {
    const cached = await this.deps.coordinator.cachedWork(hash);
    if (cached) return cached;
    const solved = await this.deps.accounting.solvedWork(hash);
    if (solved) await this.deps.coordinator.cacheWork(solved);
    return solved;
  }

  /**
   * The value of cached work, computed from the work, never taken from the cache. An in-memory
   * cache hands back the same object on every hit, so its work is hashed once per process rather
   * than once per request; a shared cache returns new objects, which are always hashed.
   */
  private verifiedValue(hash: string, cached: CachedWork): bigint {
    let value = this.verified.get(cached);
    if (value === undefined) {
      value = workValue(Buffer.from(hash, "hex"), cached.work);
      this.verified.set(cached, value);
    }
    return value;
  }

  /** Opens the job (or joins the open one) and publishes it when it is new. */
  private async broadcast(request: OpenJobRequest): Promise<boolean> {
    const { job, created } = await this.deps.coordinator.openJob(request);
    if (await this.solvedMeanwhile(job, created)) return false;
    if (!created) return false;
    await this.deps.broker.publish(topics.work(job.type), formatWorkPayload(job));
    this.deps.logger.debug({ hash: job.hash, job: job.id, type: job.type }, "job broadcast");
    return true;
  }

  /**
   * Work found since the caller's cache check, by this replica or another: its result may have been
   * judged here before the caller's request started waiting, but whoever judged it cached the work
   * before closing the job or answering. Answers the requests here from it; a job just opened for
   * it is closed unbroadcast, since broadcasting again would pay a second worker.
   */
  private async solvedMeanwhile(job: Job, created: boolean): Promise<boolean> {
    const held = await this.deps.coordinator.cachedWork(job.hash);
    if (!held) return this.answerFromPassedBy(job);
    const value = workValue(Buffer.from(job.hash, "hex"), held.work);
    if (value < job.difficulty) return false;
    if (created) await this.deps.coordinator.closeJob(job.hash, job.id);
    this.waiters.answer(job.hash, held.work, value);
    return true;
  }

  /**
   * A job this request joined, whose results this replica judged before the request waited, while
   * the replica that claimed it had not yet cached its work: one of them answers, once a credit for
   * the job is durable (the claimer's, or this one's if the claimer died before it committed).
   */
  private async answerFromPassedBy(job: Job): Promise<boolean> {
    const passed = this.passedBy.get(job.hash);
    if (passed?.job.id !== job.id || passed.value < job.difficulty) return false;
    this.passedBy.delete(job.hash);
    await this.creditLate(passed);
    return true;
  }

  /**
   * Forgets work held or being precomputed for `hash`, whose block was superseded. An on-demand
   * job, or a precache job a request here waits on, is left to finish for its service.
   */
  async forget(hash: string): Promise<void> {
    await this.deps.coordinator.dropWork(hash);
    const job = await this.deps.coordinator.job(hash);
    if (job?.type !== "precache" || this.waiters.has(hash)) return;
    await this.deps.coordinator.closeJob(hash, job.id);
    await this.cancel(job);
  }

  /**
   * Publishes the cancel of `job`, then the job open for its hash now, if a newer one is. Workers
   * cancel by hash alone (the payload is `HASH`, docs/wire-protocol.md), and a request may open a newer job
   * for the hash between the old one closing and its cancel going out (a request at a higher
   * difficulty just after precached work for the hash was won, say). That job's broadcast then
   * reached the workers before this cancel, which killed it too, and its service waited in vain.
   * Its work again after the cancel, over the same connection, restores the order workers need;
   * a worker that kept it takes the repeat as a duplicate. One job look-up per cancel.
   *
   * A newer job that the cached work already satisfies is not repeated: its opener finds that work
   * (solvedMeanwhile, the win cached it before closing the job) and closes it unbroadcast, so
   * repeating it here, in the moment between its opening and closing, would pay for it twice.
   */
  private async cancel(job: Job): Promise<void> {
    await this.deps.broker.publish(topics.cancel(job.type), formatCancelPayload(job.hash));
    const newer = await this.deps.coordinator.job(job.hash);
    if (newer === undefined || newer.id === job.id) return;
    const held = await this.deps.coordinator.cachedWork(job.hash);
    if (held && workValue(Buffer.from(job.hash, "hex"), held.work) >= newer.difficulty) return;
    await this.deps.broker.publish(topics.work(newer.type), formatWorkPayload(newer));
    this.deps.logger.debug(
      { hash: job.hash, job: newer.id },
      "job broadcast again after a cancel for its hash",
    );
  }

  /** Requests waiting for a result now. */
  waitingCount(): number {
    return this.waiters.count;
  }

  /**
   * Answers every waiting request with `closed`, refuses new ones and new results; resolves once
   * the results already being judged are done (a win among them is credited before the broker goes).
   */
  async close(): Promise<void> {
    this.closed = true;
    this.waiters.closeAll();
    await Promise.all(this.handling);
  }

  /** One result: judged, counted (the one place results are counted), then credited if it is to be. */
  private async onResult(topic: string, payload: Buffer, publisher?: Publisher): Promise<void> {
    const verdict = await this.judge(topic, payload, publisher);
    this.deps.metrics.result(verdict.outcome);
    if ("win" in verdict) await this.win(verdict.win);
    else if ("lateCredit" in verdict) await this.creditLate(verdict.lateCredit);
  }

  /**
   * Judges one result. Invalid work is charged to the connection that sent it (`publisher`, known
   * on the embedded broker), never to the payout address it names: that field is unauthenticated.
   * With an external broker there is no publisher, and invalid work is only dropped and counted.
   */
  private async judge(topic: string, payload: Buffer, publisher?: Publisher): Promise<Verdict> {
    if (publisher && this.deps.penalties.isIgnored(connectionKey(publisher))) return { outcome: "ignored" };
    const type = workTypeOf(topic);
    const parsed = type === null ? null : parseResultPayload(payload);
    if (parsed === null || !parsed.ok) {
      this.deps.logger.debug(
        { topic, reason: parsed?.error ?? "not a result topic" },
        "unreadable result dropped",
      );
      this.strike(publisher);
      return { outcome: "garbage" };
    }
    const { hash, work, address, addressError } = parsed.value;
    const value = workValue(Buffer.from(hash, "hex"), work);
    if (value < (this.deps.options.minDifficulty ?? 0n)) {
      this.strike(publisher);
      return { outcome: "invalid" };
    }
    const job = await this.deps.coordinator.job(hash);
    if (!job) return this.keepBest(hash, work, value);
    if (value >= job.difficulty) {
      const account = addressError === null ? canonicalAddress(address) : null;
      return this.judgeWinner({ job, payee: { account, address }, work, value });
    }
    const answered = this.waiters.answer(hash, work, value);
    if (answered === 0) {
      // A precache result for a job a service has raised since: honest work for the old job.
      if (type === "precache" && job.type === "ondemand") return { outcome: "late" };
      this.strike(publisher);
      return { outcome: "invalid" };
    }
    // Work below the job's difficulty that still satisfied requests (the job was raised after it
    // was sent) is used and cached, but does not win the job.
    await this.deps.coordinator.cacheWork({ hash, work, value });
    return { outcome: "partial" };
  }

  /**
   * Work reaching the job's difficulty: the first such result wins. A later one answers the
   * requests here whose job another replica won; while this replica credits the job, its winner
   * answers once the credit is durable. Two races, both caught by the chaos run (`npm run chaos`):
   *
   * - Work already held for the job's difficulty was credited (a winner caches its work only once
   *   its credit is durable, and before it closes its job). A job that still finds such work was
   *   opened for nothing: by a request that checked the cache just before another job for the hash
   *   was won. It is closed unbroadcast, but a late result of the other job can find it open in
   *   between, and claiming it would pay a second time for one hash. It is not won again.
   * - The replica holding the claim may die before its credit commits (SIGKILL). So a late result
   *   answers requests here only once a credit for the job is durable: recording it is idempotent
   *   per job, so it is a no-op when the claimer committed first and credits this result's worker
   *   when the claimer never does. Without requests here it is dropped.
   */
  private async judgeWinner(solve: Solve): Promise<Verdict> {
    const { job } = solve;
    const held = await this.deps.coordinator.cachedWork(job.hash);
    const heldValue = held ? workValue(Buffer.from(job.hash, "hex"), held.work) : 0n;
    if (held && heldValue >= job.difficulty) {
      this.waiters.answer(job.hash, held.work, heldValue);
      return { outcome: "late" };
    }
    if (await this.deps.coordinator.claimWin(job.id)) {
      // Marked in the same turn as the claim: a second result judged before the credit commits
      // must find it, or its own credit (see creditLate) could commit first and pay its worker.
      this.crediting.add(job.id);
      return { outcome: solve.payee.account === null ? "bad_address" : "win", win: solve };
    }
    if (this.crediting.has(job.id)) return { outcome: "late" };
    if (!this.waiters.has(job.hash)) {
      this.passedBy.setIfAbsent(job.hash, solve, this.deps.options.jobGraceMs);
      return { outcome: "late" };
    }
    return { outcome: "late", lateCredit: solve };
  }

  /** A late result for requests here: credited (a no-op when the claimer's credit came first), then answered. */
  private async creditLate({ job, payee, work, value }: Solve): Promise<void> {
    if (payee.account !== null) await this.deps.accounting.credit(job, payee.account, payee.address, work);
    await this.deps.coordinator.cacheWork({ hash: job.hash, work, value });
    this.waiters.answer(job.hash, work, value);
  }

  /** A result for a hash with no open job replaces the work held only when it beats it; never credited. */
  private async keepBest(hash: string, work: bigint, value: bigint): Promise<Verdict> {
    const held = await this.deps.coordinator.cachedWork(hash);
    // Another replica may have won and closed the job before this one judged any of its results:
    // the requests waiting here get the winner's work (it is cached before the job is closed).
    if (held && this.waiters.has(hash)) {
      this.waiters.answer(hash, held.work, workValue(Buffer.from(hash, "hex"), held.work));
    }
    if (!held || value <= held.value) return { outcome: "late" };
    await this.deps.coordinator.cacheWork({ hash, work, value });
    return { outcome: "improved" };
  }

  /**
   * Durable before acknowledged: the credit is committed before the work is cached (a persistent
   * cache would outlive a crash), handed to a service or cancelled, so a crash at any point loses
   * at most an answer, never the credit for work a service received. Valid work naming an invalid
   * payout address wins the job all the same (the services are answered, the job is closed and
   * cancelled) but credits nobody, and its sender is told on `client/ADDRESS`, as the original did.
   */
  private async win({ job, payee, work, value }: Solve): Promise<void> {
    try {
      if (payee.account !== null) await this.deps.accounting.credit(job, payee.account, payee.address, work);
      await this.deps.coordinator.cacheWork({ hash: job.hash, work, value });
      await this.deps.coordinator.closeJob(job.hash, job.id);
      this.waiters.answer(job.hash, work, value);
    } finally {
      this.crediting.delete(job.id);
    }
    // The answers first: a cancel goes to every worker, which takes a while, and services wait.
    await new Promise((resolve) => setImmediate(resolve));
    await this.cancel(job);
    if (payee.account === null) this.deps.accounting.invalidAccount(payee.address);
    this.deps.logger.debug(
      { hash: job.hash, job: job.id, worker: payee.account ?? payee.address },
      "job won",
    );
  }

  /**
   * Charges an invalid result to the connection that sent it; past the threshold that connection is
   * dropped and its client id refused from its address for the cool-down (logged once, here).
   */
  private strike(publisher: Publisher | undefined): void {
    if (!publisher || !this.deps.penalties.strike(connectionKey(publisher))) return;
    const { coolDownMs, threshold, windowMs } = this.deps.penalties.options;
    this.deps.logger.warn(
      { ...publisher, threshold, windowMs, coolDownMs },
      "MQTT client sent too many invalid results: disconnected, its results ignored for the cool-down",
    );
    this.deps.broker.disconnect?.(publisher, coolDownMs);
  }
}
