import type { CachedWork, Coordinator, Job, OpenJobRequest } from "../ports.js";
import { ExpiringMap } from "./expiring-map.js";
import { newJob } from "./new-job.js";

export interface MemoryCoordinatorOptions {
  /** Most hashes whose work is kept. */
  cacheSize?: number;
  /** How long solved work is kept. */
  cacheTtlMs?: number;
  now?: () => number;
  /** Most accounts whose frontier is tracked (precache), and for how long after their last block. */
  frontierLimit?: number;
  frontierTtlMs?: number;
}

const MAX_OPEN_JOBS = 100_000;
/** A claim outlives its job by far, so a very late result can never claim a job twice. */
export const CLAIM_TTL_MS = 60 * 60_000;
export const DEFAULT_CACHE_TTL_MS = 24 * 3600_000;
export const DEFAULT_FRONTIER_TTL_MS = 7 * 24 * 3600_000;

/** The coordinator of a single hub process: everything in memory, nothing shared. */
export class MemoryCoordinator implements Coordinator {
  private readonly jobs: ExpiringMap<string, Job>;
  private readonly claims: ExpiringMap<string, true>;
  private readonly cache: ExpiringMap<string, CachedWork>;
  private readonly frontiers: ExpiringMap<string, string>;
  private readonly cacheTtlMs: number;
  private readonly frontierTtlMs: number;
  private readonly now: () => number;

  constructor(options: MemoryCoordinatorOptions = {}) {
    const now = options.now ?? Date.now;
    const cacheSize = options.cacheSize ?? 100_000;
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.jobs = new ExpiringMap(MAX_OPEN_JOBS, now);
    this.claims = new ExpiringMap(MAX_OPEN_JOBS * 4, now);
    this.cache = new ExpiringMap(cacheSize, now);
    this.frontiers = new ExpiringMap(options.frontierLimit ?? cacheSize, now);
    this.frontierTtlMs = options.frontierTtlMs ?? DEFAULT_FRONTIER_TTL_MS;
    this.now = now;
  }

  async openJob(request: OpenJobRequest): Promise<{ job: Job; created: boolean }> {
    const open = this.jobs.get(request.hash);
    if (open && open.difficulty >= request.difficulty) {
      this.jobs.set(request.hash, open, request.ttlMs);
      return { job: open, created: false };
    }
    const job = newJob(request, this.now());
    this.jobs.set(request.hash, job, request.ttlMs);
    return { job, created: true };
  }

  async job(hash: string): Promise<Job | undefined> {
    return this.jobs.get(hash);
  }

  async closeJob(hash: string, jobId: string): Promise<void> {
    if (this.jobs.get(hash)?.id === jobId) this.jobs.delete(hash);
  }

  async claimWin(jobId: string): Promise<boolean> {
    return this.claims.setIfAbsent(jobId, true, CLAIM_TTL_MS);
  }

  async cacheWork(work: CachedWork): Promise<void> {
    // Keep the better work when a hash is solved twice (e.g. at a raised difficulty, then late).
    const held = this.cache.get(work.hash);
    if (held && held.value >= work.value) return;
    this.cache.set(work.hash, work, this.cacheTtlMs);
  }

  async cachedWork(hash: string): Promise<CachedWork | undefined> {
    return this.cache.get(hash);
  }

  async dropWork(hash: string): Promise<void> {
    this.cache.delete(hash);
  }

  async setFrontier(account: string, hash: string): Promise<void> {
    this.frontiers.set(account, hash, this.frontierTtlMs);
  }

  async frontier(account: string): Promise<string | undefined> {
    return this.frontiers.get(account);
  }

  async openJobCount(): Promise<number> {
    return this.jobs.size;
  }

  async close(): Promise<void> {}
}
