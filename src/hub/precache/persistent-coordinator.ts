import { parseHash } from "../../nano/hex.js";
import { workValue } from "../../nano/work.js";
import type { CachedWork, Coordinator, Job, OpenJobRequest } from "../ports.js";
import type { FrontierStore } from "./frontier-store.js";

/**
 * An in-memory coordinator whose frontiers and precached work survive a restart: every frontier
 * move and every work cached for a tracked frontier is also written to the FrontierStore, and
 * `restore` loads them back. Jobs, claims and other cached work stay in memory only: an open job
 * lost in a restart is simply broadcast again on the next request, and a claim outlives no job.
 */
export class PersistentCoordinator implements Coordinator {
  constructor(
    private readonly inner: Coordinator,
    private readonly store: FrontierStore,
  ) {}

  /**
   * Loads the stored frontiers and their work into the inner coordinator, oldest first so that the
   * newest survive its bounds. Stored work is re-validated (its value recomputed), never trusted.
   * Returns the frontiers that had no work yet: precache them again.
   */
  async restore(): Promise<string[]> {
    const unsolved: string[] = [];
    for (const row of this.store.load().reverse()) {
      await this.inner.setFrontier(row.account, row.frontier);
      if (row.work === null) {
        unsolved.push(row.frontier);
        continue;
      }
      const value = workValue(parseHash(row.frontier), row.work);
      await this.inner.cacheWork({ hash: row.frontier, work: row.work, value });
    }
    return unsolved;
  }

  async setFrontier(account: string, hash: string): Promise<void> {
    await this.inner.setFrontier(account, hash);
    this.store.setFrontier(account, hash, await this.inner.cachedWork(hash));
  }

  async cacheWork(work: CachedWork): Promise<void> {
    await this.inner.cacheWork(work);
    this.store.saveWork(work.hash, work.work, work.value);
  }

  openJob(request: OpenJobRequest): Promise<{ job: Job; created: boolean }> {
    return this.inner.openJob(request);
  }

  job(hash: string): Promise<Job | undefined> {
    return this.inner.job(hash);
  }

  closeJob(hash: string, jobId: string): Promise<void> {
    return this.inner.closeJob(hash, jobId);
  }

  claimWin(jobId: string): Promise<boolean> {
    return this.inner.claimWin(jobId);
  }

  cachedWork(hash: string): Promise<CachedWork | undefined> {
    return this.inner.cachedWork(hash);
  }

  dropWork(hash: string): Promise<void> {
    return this.inner.dropWork(hash);
  }

  frontier(account: string): Promise<string | undefined> {
    return this.inner.frontier(account);
  }

  openJobCount(): Promise<number> {
    return this.inner.openJobCount();
  }

  async close(): Promise<void> {
    await this.inner.close();
    this.store.close();
  }
}
