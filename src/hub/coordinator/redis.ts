import { Redis } from "ioredis";
import { formatU64 } from "../../nano/hex.js";
import { redactUrl } from "../../protocol/redact-url.js";
import {
  type CachedWork,
  type Coordinator,
  type Job,
  type JobType,
  type OpenJobRequest,
  StoreUnreachableError,
} from "../ports.js";
import { CLAIM_TTL_MS, DEFAULT_CACHE_TTL_MS, DEFAULT_FRONTIER_TTL_MS } from "./memory.js";
import { newJob } from "./new-job.js";
import { CACHE_WORK, CLOSE_JOB, COUNT_OPEN_JOBS, OPEN_JOB } from "./redis-scripts.js";

export interface RedisCoordinatorOptions {
  /** Prefix of every key, so several hubs (or test runs) can share one Redis. Default `dpow:`. */
  prefix?: string;
  /** How long solved work is kept. */
  cacheTtlMs?: number;
  /** How long an account's frontier is kept after its last block. */
  frontierTtlMs?: number;
}

/** The most a command waits for Redis to come back before the request that needed it fails. */
const MAX_RETRIES_PER_REQUEST = 5;

/**
 * The coordinator that hub replicas share. Every decision that must be taken once across replicas
 * is one atomic Redis operation: opening a job (a Lua script), claiming a win (SET NX), keeping the
 * better work (a Lua script). Everything expires on Redis's clock, so nothing piles up when a
 * replica dies. Keys: `job:HASH` (hash) + `jobs` (sorted set of open jobs by expiry), `claim:JOB`,
 * `work:HASH` (hash), `frontier:ACCOUNT`.
 */
export class RedisCoordinator implements Coordinator {
  private readonly prefix: string;
  private readonly cacheTtlMs: number;
  private readonly frontierTtlMs: number;

  private constructor(
    private readonly redis: Redis,
    options: RedisCoordinatorOptions,
  ) {
    this.prefix = options.prefix ?? "dpow:";
    this.cacheTtlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.frontierTtlMs = options.frontierTtlMs ?? DEFAULT_FRONTIER_TTL_MS;
  }

  /** Connects to `url` (redis://[:password@]host:port[/db]); fails at once when Redis is unreachable. */
  static async connect(url: string, options: RedisCoordinatorOptions = {}): Promise<RedisCoordinator> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST });
    // Connection errors fail the commands that need Redis (and connect() below); the event itself
    // is kept only to say why the first connection failed.
    let lastError: Error | undefined;
    redis.on("error", (err: Error) => {
      lastError = err;
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      const why = (lastError ?? (err as Error)).message;
      throw new StoreUnreachableError(
        `cannot reach Redis at ${redactUrl(url)} (${why}); start it or fix --redis`,
      );
    }
    return new RedisCoordinator(redis, options);
  }

  async openJob(request: OpenJobRequest): Promise<{ job: Job; created: boolean }> {
    const job = newJob(request, Date.now());
    const reply = (await OPEN_JOB.run(
      this.redis,
      [this.key("job", request.hash), this.key("jobs")],
      [
        job.id,
        job.type,
        formatU64(job.difficulty),
        JSON.stringify(job.service),
        job.openedAt,
        Math.max(1, Math.ceil(request.ttlMs)),
        job.hash,
      ],
    )) as [1] | [0, string[]];
    if (reply[0] === 1) return { job, created: true };
    return { job: parseJob(request.hash, pairs(reply[1])), created: false };
  }

  async job(hash: string): Promise<Job | undefined> {
    const fields = await this.redis.hgetall(this.key("job", hash));
    return fields.id === undefined ? undefined : parseJob(hash, fields);
  }

  async closeJob(hash: string, jobId: string): Promise<void> {
    await CLOSE_JOB.run(this.redis, [this.key("job", hash), this.key("jobs")], [jobId, hash]);
  }

  async claimWin(jobId: string): Promise<boolean> {
    return (await this.redis.set(this.key("claim", jobId), "1", "PX", CLAIM_TTL_MS, "NX")) === "OK";
  }

  async cacheWork(work: CachedWork): Promise<void> {
    await CACHE_WORK.run(
      this.redis,
      [this.key("work", work.hash)],
      [formatU64(work.work), formatU64(work.value), this.cacheTtlMs],
    );
  }

  async cachedWork(hash: string): Promise<CachedWork | undefined> {
    const [work, value] = await this.redis.hmget(this.key("work", hash), "work", "value");
    if (work == null || value == null) return undefined;
    return { hash, work: BigInt(`0x${work}`), value: BigInt(`0x${value}`) };
  }

  async dropWork(hash: string): Promise<void> {
    await this.redis.del(this.key("work", hash));
  }

  async setFrontier(account: string, hash: string): Promise<void> {
    await this.redis.set(this.key("frontier", account), hash, "PX", this.frontierTtlMs);
  }

  async frontier(account: string): Promise<string | undefined> {
    return (await this.redis.get(this.key("frontier", account))) ?? undefined;
  }

  async openJobCount(): Promise<number> {
    return Number(await COUNT_OPEN_JOBS.run(this.redis, [this.key("jobs")], []));
  }

  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private key(kind: string, id?: string): string {
    return id === undefined ? `${this.prefix}${kind}` : `${this.prefix}${kind}:${id}`;
  }
}

/** HGETALL inside a script answers a flat [field, value, ...] list. */
function pairs(flat: string[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i] as string] = flat[i + 1] as string;
  return record;
}

function parseJob(hash: string, fields: Record<string, string>): Job {
  return {
    id: fields.id as string,
    hash,
    type: fields.type as JobType,
    difficulty: BigInt(`0x${fields.difficulty}`),
    service: JSON.parse(fields.service ?? "null") as string | null,
    openedAt: Number(fields.openedAt),
  };
}
