/**
 * Subset fan-out: with more workers listening for a job type than a job needs, each job goes to
 * `size` of them chosen at random, and to more (the audience doubles) each time `escalateMs` passes
 * without its cancel; the cancel goes to exactly those who got the job. With `size` or fewer
 * workers listening, every job and cancel goes to everyone, as a plain broadcast.
 *
 * Why random and not "the fastest": a stranger may open connections, and a choice it can steer
 * (by winning, by answering first) would let it take every job. Uniform choice gives a connection
 * one slot per job at most and a share of jobs equal to its share of connections (capped per
 * address by the broker). A worker that never answers cannot make a job slow: the job escalates.
 *
 * The class knows nothing of MQTT: `deliver` sends a payload to an audience (null: to everyone).
 */
import { parseCancelPayload, parseWorkPayload, type WorkType } from "../../protocol/topics.js";

export interface FanOutOptions {
  /** Workers each job goes to first; 0 = broadcast every job to every worker. */
  size: number;
  /** A job not cancelled (solved) this long after its last delivery goes to twice as many workers. */
  escalateMs: number;
}

export const FAN_OUT_DEFAULTS = { size: 64, escalateMs: 400 } satisfies FanOutOptions;

/** Open subset jobs remembered at most; past it the oldest is forgotten and its cancel is broadcast. */
const MAX_JOBS = 20_000;

export type Deliver<M> = (payload: Buffer, audience: ReadonlySet<M> | null) => Promise<void>;

/** A set with O(1) add, delete and pick-at-random. */
class Pool<M> {
  private readonly items: M[] = [];
  private readonly index = new Map<M, number>();

  get size(): number {
    return this.items.length;
  }

  has(item: M): boolean {
    return this.index.has(item);
  }

  add(item: M): void {
    if (this.index.has(item)) return;
    this.index.set(item, this.items.length);
    this.items.push(item);
  }

  delete(item: M): void {
    const at = this.index.get(item);
    if (at === undefined) return;
    const last = this.items.pop() as M;
    this.index.delete(item);
    if (at < this.items.length) {
      this.items[at] = last;
      this.index.set(last, at);
    }
  }

  /** Up to `count` members not in `taken`, uniformly at random, without repeats. */
  sample(count: number, taken: ReadonlySet<M>): Set<M> {
    const chosen = new Set<M>();
    let takenHere = 0;
    for (const item of taken) if (this.index.has(item)) takenHere++;
    const free = this.items.length - takenHere;
    if (free <= 0) return chosen;
    if (count * 2 < free) {
      // Few wanted out of many: draw and redraw; the expected number of draws stays below 2 x count.
      while (chosen.size < count) {
        const item = this.items[Math.floor(Math.random() * this.items.length)] as M;
        if (!taken.has(item)) chosen.add(item);
      }
      return chosen;
    }
    const rest = this.items.filter((item) => !taken.has(item));
    for (let i = 0; i < rest.length && chosen.size < count; i++) {
      const j = i + Math.floor(Math.random() * (rest.length - i));
      [rest[i], rest[j]] = [rest[j] as M, rest[i] as M];
      chosen.add(rest[i] as M);
    }
    return chosen;
  }
}

interface SubsetJob<M> {
  type: WorkType;
  /** The latest work payload, sent again to each new part of the audience. */
  payload: Buffer;
  /** Everyone who got the job: the cancel's audience. */
  audience: Set<M>;
  timer: NodeJS.Timeout | undefined;
}

export class SubsetFanOut<M> {
  private readonly pools: Record<WorkType, Pool<M>> = { ondemand: new Pool(), precache: new Pool() };
  /** Open subset jobs by `type hash`, oldest first. */
  private readonly jobs = new Map<string, SubsetJob<M>>();

  constructor(
    private readonly options: FanOutOptions,
    private readonly send: { work: (type: WorkType) => Deliver<M>; cancel: (type: WorkType) => Deliver<M> },
    private readonly onError: (err: unknown) => void,
  ) {}

  /** `member` listens for jobs of `type` (or stops to). */
  setListening(member: M, type: WorkType, listening: boolean): void {
    if (listening) this.pools[type].add(member);
    else this.pools[type].delete(member);
  }

  /** `member` is gone: it is chosen no more (audiences that hold it keep it, harmlessly). */
  forget(member: M): void {
    for (const pool of Object.values(this.pools)) pool.delete(member);
  }

  listeners(type: WorkType): number {
    return this.pools[type].size;
  }

  /** Open jobs sent to a subset now (for tests and metrics). */
  subsetJobs(): number {
    return this.jobs.size;
  }

  /** Publishes a job: to its audience when the hash has one, else to a fresh subset or to everyone. */
  work(type: WorkType, payload: Buffer): Promise<void> {
    const parsed = parseWorkPayload(payload);
    const deliver = this.send.work(type);
    if (!parsed.ok) return deliver(payload, null);
    const key = `${type} ${parsed.value.hash}`;
    const open = this.jobs.get(key);
    if (open) {
      // The same hash again (a higher difficulty, or a repeat after a cancel): same workers.
      open.payload = payload;
      return deliver(payload, open.audience);
    }
    const pool = this.pools[type];
    if (this.options.size === 0 || pool.size <= this.options.size) return deliver(payload, null);
    const audience = pool.sample(this.options.size, new Set());
    const job: SubsetJob<M> = { type, payload, audience, timer: undefined };
    this.remember(key, job);
    this.arm(key, job);
    return deliver(payload, audience);
  }

  /** Publishes a cancel: to everyone who got the job, or to everyone when the job was broadcast. */
  cancel(type: WorkType, payload: Buffer): Promise<void> {
    const parsed = parseCancelPayload(payload);
    const deliver = this.send.cancel(type);
    const key = parsed.ok ? `${type} ${parsed.value}` : undefined;
    const job = key === undefined ? undefined : this.jobs.get(key);
    if (!job || key === undefined) return deliver(payload, null);
    clearTimeout(job.timer);
    this.jobs.delete(key);
    return deliver(payload, job.audience);
  }

  close(): void {
    for (const job of this.jobs.values()) clearTimeout(job.timer);
    this.jobs.clear();
  }

  private remember(key: string, job: SubsetJob<M>): void {
    if (this.jobs.size >= MAX_JOBS) {
      const [oldestKey, oldest] = this.jobs.entries().next().value as [string, SubsetJob<M>];
      clearTimeout(oldest.timer);
      this.jobs.delete(oldestKey);
    }
    this.jobs.set(key, job);
  }

  private arm(key: string, job: SubsetJob<M>): void {
    job.timer = setTimeout(() => this.escalate(key, job), this.options.escalateMs);
    job.timer.unref();
  }

  /**
   * Not solved in time: as many workers again as have it, chosen among those who have not. Once
   * everyone has it the job is forgotten: its cancel then goes to everyone, which is the audience,
   * and a job nobody solves (it expires without a cancel) holds no memory past that point.
   */
  private escalate(key: string, job: SubsetJob<M>): void {
    if (this.jobs.get(key) !== job) return;
    const added = this.pools[job.type].sample(Math.max(1, job.audience.size), job.audience);
    if (added.size === 0) {
      this.jobs.delete(key);
      return;
    }
    for (const member of added) job.audience.add(member);
    this.arm(key, job);
    // A copy: deliveries through aedes are told apart by their payload buffer (aedes-fan-out.ts).
    this.send.work(job.type)(Buffer.from(job.payload), added).catch(this.onError);
  }
}
