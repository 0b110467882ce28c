/**
 * The CPU work pool: search threads that all search the current job, each from its own random,
 * disjoint point of the nonce space. Jobs run one at a time (all threads on one job gives the
 * lowest latency) and wait in a queue; a request for a root already queued or running, at a
 * threshold that job already meets, shares that job's result.
 */

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { CodedError } from "../errors.js";
import { formatHash } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { threadModuleUrl } from "../thread-module.js";
import type { GenerateOptions, WorkResult } from "./backend.js";
import { type EngineOptions, type KernelSpec, kernelName, resolveKernel } from "./engine.js";
import type { FromSearchThread, ToSearchThread } from "./pool-messages.js";

export interface PoolOptions extends EngineOptions {
  /** Search threads; default one per CPU core. */
  threads?: number;
}

/** The job was cancelled by root (work_cancel), not by the requester's own signal. */
export class WorkCancelledError extends CodedError {
  override name = "WorkCancelledError";
  constructor(message: string) {
    super("DPOW_WORK_CANCELLED", message);
  }
}

interface Waiter {
  resolve(result: WorkResult): void;
  reject(err: Error): void;
}

interface SearchJob {
  id: number;
  root: Uint8Array;
  key: string;
  threshold: bigint;
  waiters: Set<Waiter>;
}

const U64_SPAN = 1n << 64n;

function randomU64(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(words[0] as number) << 32n) | BigInt(words[1] as number);
}

function abortError(): Error {
  return new DOMException("work generation was aborted", "AbortError");
}

/** The compiled search thread: next to this module in dist/, or dist/ when running from source. */
const searchThreadUrl = (): URL => threadModuleUrl(import.meta.url, "search-thread.js", "pow");

export class WorkPool {
  private readonly queue: SearchJob[] = [];
  private current: SearchJob | undefined;
  private nextId = 1;
  /** Threads still inside some job's search loop; 0 means the whole pool is idle. */
  private searching = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Nonces hashed by all threads since the pool started (reported when a thread leaves a job). */
  private hashes = 0;

  private constructor(
    private readonly searchThreads: Worker[],
    private readonly active: Int32Array,
    readonly kernel: string,
  ) {
    for (const thread of searchThreads) {
      thread.on("message", (message: FromSearchThread) => this.onMessage(message));
      thread.on("error", (err: Error) => this.fail(err));
      // An idle pool does not keep the process alive; a busy one does (see holdProcess()).
      thread.unref();
    }
  }

  static async start(options: PoolOptions = {}): Promise<WorkPool> {
    const count = options.threads ?? availableParallelism();
    if (!Number.isInteger(count) || count < 1)
      throw new CodedError("DPOW_INVALID_OPTION", `threads must be >= 1, got ${count}`);
    const spec: KernelSpec = resolveKernel(options);
    const control = new SharedArrayBuffer(4);
    const url = searchThreadUrl();
    const threads = Array.from({ length: count }, () => new Worker(url, { workerData: { spec, control } }));
    try {
      await Promise.all(threads.map(ready));
    } catch (err) {
      await Promise.all(threads.map((w) => w.terminate()));
      throw err;
    }
    return new WorkPool(threads, new Int32Array(control), kernelName(spec));
  }

  get threads(): number {
    return this.searchThreads.length;
  }

  /** Finds work for `root` with value >= threshold. Verified with nano/ before it resolves. */
  generate(root: Uint8Array, threshold: bigint, options: GenerateOptions = {}): Promise<WorkResult> {
    if (this.closed) return Promise.reject(new Error("the work pool is closed"));
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    const job = this.jobFor(root, threshold);
    return new Promise<WorkResult>((resolve, reject) => {
      const onAbort = () => {
        job.waiters.delete(waiter);
        if (job.waiters.size === 0) this.drop(job);
        reject(abortError());
      };
      const waiter: Waiter = {
        resolve: (result) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
        reject: (err) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      job.waiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.pump();
    });
  }

  /** Cancels every job for `root`; their requests reject with WorkCancelledError. Returns how many. */
  cancel(root: Uint8Array): number {
    const key = formatHash(root);
    const jobs = this.jobs().filter((j) => j.key === key);
    for (const job of jobs) {
      this.drop(job);
      for (const waiter of job.waiters)
        waiter.reject(new WorkCancelledError(`work for ${key} was cancelled`));
    }
    return jobs.length;
  }

  /** Whether a job is running, and how many wait behind it. */
  status(): { generating: boolean; queued: number } {
    return { generating: this.current !== undefined, queued: this.queue.length };
  }

  /** Requests waiting for work, running or queued (several can share one job). */
  waiting(): number {
    return this.jobs().reduce((n, j) => n + j.waiters.size, 0);
  }

  /** Nonces hashed so far, counted when threads finish or leave a job: divide by time for a rate. */
  get hashesDone(): number {
    return this.hashes;
  }

  /** Resolves once no thread is searching (after a cancel: the time it takes threads to notice). */
  idle(): Promise<void> {
    if (this.searching === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.rejectAll(new Error("the work pool was closed"));
    await Promise.all(this.searchThreads.map((w) => w.terminate()));
  }

  /** The running job first, then the queue. */
  private jobs(): SearchJob[] {
    return this.current ? [this.current, ...this.queue] : [...this.queue];
  }

  private jobFor(root: Uint8Array, threshold: bigint): SearchJob {
    const key = formatHash(root);
    const shared = this.jobs().find((j) => j.key === key && j.threshold >= threshold);
    if (shared) return shared;
    const job: SearchJob = {
      id: this.nextId++,
      root: Uint8Array.from(root),
      key,
      threshold,
      waiters: new Set(),
    };
    this.queue.push(job);
    return job;
  }

  /** Removes a job from the queue, or stops it if it is running. */
  private drop(job: SearchJob): void {
    const index = this.queue.indexOf(job);
    if (index >= 0) this.queue.splice(index, 1);
    if (this.current === job) this.stopCurrent();
    this.pump();
  }

  private stopCurrent(): void {
    this.current = undefined;
    Atomics.store(this.active, 0, 0);
  }

  /** Starts the next queued job when none is running. */
  private pump(): void {
    if (this.current !== undefined || this.closed) return;
    const job = this.queue.shift();
    if (job === undefined) return;
    this.current = job;
    Atomics.store(this.active, 0, job.id);
    const base = randomU64();
    const stride = U64_SPAN / BigInt(this.searchThreads.length);
    this.searchThreads.forEach((thread, i) => {
      const start = (base + BigInt(i) * stride) % U64_SPAN;
      const message: ToSearchThread = {
        type: "job",
        id: job.id,
        root: job.root,
        threshold: job.threshold,
        start,
      };
      this.searching++;
      thread.postMessage(message);
    });
    this.holdProcess();
  }

  /**
   * Busy threads keep the process alive (a pending job or idle() must finish); idle ones do not.
   * Never once closing: a thread unref'd while terminate() runs (its last "done" arrives then)
   * lets the process exit before close() resolves (exit code 13 after Ctrl-C in `dpow worker`).
   */
  private holdProcess(): void {
    if (this.closed) return;
    const busy = this.current !== undefined || this.searching > 0;
    for (const thread of this.searchThreads) busy ? thread.ref() : thread.unref();
  }

  private onMessage(message: FromSearchThread): void {
    if (message.type === "ready") return;
    this.hashes += message.hashes;
    this.searching--;
    if (this.searching === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
      this.holdProcess();
    }
    const job = this.current;
    if (message.type !== "found" || job === undefined || job.id !== message.id) return;
    this.stopCurrent();
    const value = workValue(job.root, message.nonce);
    const err =
      value >= job.threshold
        ? undefined
        : new Error(`the ${this.kernel} kernel returned invalid work; please report this bug`);
    for (const waiter of job.waiters) {
      if (err) waiter.reject(err);
      else waiter.resolve({ work: message.nonce, value });
    }
    this.pump();
  }

  /** A search thread died: nothing can be trusted to finish, so every request fails now. */
  private fail(err: Error): void {
    if (this.closed) return;
    this.rejectAll(err);
    for (const thread of this.searchThreads) void thread.terminate();
  }

  /** Closes the pool to new work and fails every request still waiting. */
  private rejectAll(err: Error): void {
    this.closed = true;
    const pending = this.jobs();
    this.queue.length = 0;
    this.stopCurrent();
    for (const job of pending) for (const waiter of job.waiters) waiter.reject(err);
  }
}

function ready(thread: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromSearchThread) => {
      if (message.type !== "ready") return;
      thread.off("error", reject);
      thread.off("message", onMessage);
      resolve();
    };
    thread.on("message", onMessage);
    thread.once("error", reject);
  });
}
