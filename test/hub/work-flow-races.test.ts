/**
 * The work flow's interleavings, each forced in-process: the coordinator, the ledger and the
 * broker are wrapped so that one chosen call is held until the test lets it go (see
 * test/helpers/paused-calls.ts), and the other party's step runs in between. The spawned-process
 * suites (cancel-race, replica-races, the chaos run) show the same behaviour end to end; these
 * pin each ordering, one at a time, on every run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Accounting } from "../../src/hub/accounting.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { HubMetrics, type ResultOutcome } from "../../src/hub/metrics.js";
import type { Broker, MessageHandler } from "../../src/hub/ports.js";
import { WorkFlow } from "../../src/hub/work-flow.js";
import { DEFAULT_PENALTIES, WorkerPenalties } from "../../src/hub/worker-penalties.js";
import { workValue } from "../../src/nano/work.js";
import { formatResultPayload, formatWorkPayload, type WorkType } from "../../src/protocol/topics.js";
import { newPayout, randomHash, solve } from "../helpers/fake-worker.js";
import { type Paused, paused } from "../helpers/paused-calls.js";

const dir = mkdtempSync(join(tmpdir(), "dpow-flow-races-"));
const logger = pino({ level: "silent" });
/** Low difficulties: a few hundred hashes each, so `solve` is instant. */
const EASY = 0xff00000000000000n;
const HARDER = 0xffc0000000000000n;
let ledgerFiles = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A broker that keeps what the flow publishes, in order, and hands results to its handler. */
class RecordingBroker implements Broker {
  readonly published: { topic: string; payload: string }[] = [];
  private handler: MessageHandler | undefined;

  async publish(topic: string, payload: string | Buffer): Promise<void> {
    this.published.push({ topic, payload: payload.toString() });
  }

  async subscribe(_pattern: string, handler: MessageHandler): Promise<void> {
    this.handler = handler;
  }

  async close(): Promise<void> {}

  /** A worker's result arriving over MQTT. */
  deliver(type: WorkType, hash: string, work: bigint, address: string): void {
    this.handler?.(`result/${type}`, Buffer.from(formatResultPayload({ hash, work, address })));
  }

  topics(): string[] {
    return this.published.map((p) => p.topic).filter((t) => !t.startsWith("client/"));
  }
}

interface Rig {
  flow: WorkFlow;
  coordinator: Paused<MemoryCoordinator>;
  ledger: Paused<SqliteLedger>;
  broker: Paused<RecordingBroker>;
  recorded: RecordingBroker;
  memory: MemoryCoordinator;
  sqlite: SqliteLedger;
  /** Resolves once the flow has counted `n` results with `outcome`. */
  counted(outcome: ResultOutcome, n?: number): Promise<void>;
}

const rigs: Rig[] = [];
afterEach(() => {
  const done = rigs.splice(0);
  for (const rig of done) rig.flow.close();
  for (const sqlite of new Set(done.map((r) => r.sqlite))) sqlite.close();
});

/** One replica's flow; a second replica shares the first one's coordinator and ledger. */
async function rig(replicaOf?: Rig): Promise<Rig> {
  const memory = replicaOf?.memory ?? new MemoryCoordinator();
  const sqlite = replicaOf?.sqlite ?? new SqliteLedger(join(dir, `ledger-${++ledgerFiles}.db`));
  const recorded = new RecordingBroker();
  const coordinator = paused(memory);
  const ledger = paused(sqlite);
  const broker = paused(recorded);
  const metrics = new HubMetrics({
    workersConnected: () => 0,
    openJobs: async () => 0,
    waitingRequests: () => 0,
  });
  const waitingFor: { outcome: ResultOutcome; n: number; resolve: () => void }[] = [];
  const counts = new Map<ResultOutcome, number>();
  const result = metrics.result.bind(metrics);
  // Counting is the flow's last word on a result: a test waits for it instead of sleeping.
  metrics.result = (outcome: ResultOutcome) => {
    result(outcome);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    for (const w of waitingFor.filter((w) => (counts.get(w.outcome) ?? 0) >= w.n)) {
      waitingFor.splice(waitingFor.indexOf(w), 1);
      w.resolve();
    }
  };
  const flow = new WorkFlow({
    broker: broker.target,
    coordinator: coordinator.target,
    accounting: new Accounting(ledger.target, broker.target, logger),
    penalties: new WorkerPenalties(DEFAULT_PENALTIES),
    metrics,
    logger,
    options: { jobGraceMs: 1000 },
  });
  await flow.start();
  const counted = (outcome: ResultOutcome, n = 1) =>
    (counts.get(outcome) ?? 0) >= n
      ? Promise.resolve()
      : new Promise<void>((resolve) => waitingFor.push({ outcome, n, resolve }));
  const made: Rig = { flow, coordinator, ledger, broker, recorded, memory, sqlite, counted };
  rigs.push(made);
  return made;
}

const request = (hash: string, difficulty: bigint) => ({
  hash,
  difficulty,
  timeoutMs: 20_000,
  service: "svc",
});

/** The job the memory coordinator has open for `hash` now (after any held call). */
const openJob = (r: Rig, hash: string) => r.memory.job(hash);

describe("the work flow's races, forced in-process", () => {
  it("solvedMeanwhile: a request whose cache check missed a win just made is answered from the cache, its job closed unbroadcast", async () => {
    const r = await rig();
    const hash = randomHash();
    expect(await r.flow.precache(hash, EASY, 60_000)).toBe(true);

    // The request checks the cache (empty) and is held before it starts waiting...
    const check = r.coordinator.pauseNext("cachedWork", "after", ([h]) => h === hash);
    const asked = r.flow.work(request(hash, EASY));
    await check.reached;
    // ...while the precache job is won: its work cached, the job closed, nobody here to answer.
    const work = solve(hash, EASY);
    r.recorded.deliver("precache", hash, work, newPayout());
    // Counted when judged; the job is closed before its cancel goes out.
    await until(() => r.recorded.topics().includes("cancel/precache"));
    expect(await openJob(r, hash)).toBeUndefined();

    check.release();
    const outcome = await asked;
    expect(outcome).toEqual({ kind: "work", work, value: workValue(Buffer.from(hash, "hex"), work) });
    // The job the request opened was closed before anyone was told of it: nobody is paid twice.
    expect(r.recorded.topics()).not.toContain("work/ondemand");
    expect(await openJob(r, hash)).toBeUndefined();
  });

  it("join while closing: a request that joins a job being won gets the winner's work, and nothing is broadcast again", async () => {
    const r = await rig();
    const hash = randomHash();
    const first = r.flow.work(request(hash, EASY));
    const job = await waitForJob(r, hash);

    // The second request looked for held work (cache, then the ledger's wins) before the win...
    const check = r.ledger.pauseNext("solvedWork", "after", ([h]) => h === hash);
    const second = r.flow.work(request(hash, EASY));
    await check.reached;
    // ...and the winner is held after caching its work, before closing the job.
    const closing = r.coordinator.pauseNext("closeJob", "before", ([h]) => h === hash);
    const work = solve(hash, EASY);
    r.recorded.deliver("ondemand", hash, work, newPayout());
    await closing.reached;
    expect((await openJob(r, hash))?.id).toBe(job.id);

    // The second request now joins the job still open (created: false) and finds the work held.
    const joined = r.coordinator.pauseNext(
      "openJob",
      "after",
      ([req]) => (req as { hash: string }).hash === hash,
    );
    check.release();
    await joined.reached;
    joined.release();
    const value = workValue(Buffer.from(hash, "hex"), work);
    expect(await second).toEqual({ kind: "work", work, value });

    closing.release();
    expect(await first).toEqual({ kind: "work", work, value });
    await r.counted("win");
    expect(r.recorded.topics().filter((t) => t === "work/ondemand")).toHaveLength(1);
    expect(await openJob(r, hash)).toBeUndefined();
    expect(await r.sqlite.solvedWork(hash)).toMatchObject({ work });
  });

  it("cancel after reopen: a job opened between the win's close and its cancel is broadcast again after the cancel", async () => {
    const r = await rig();
    const hash = randomHash();
    const first = r.flow.work(request(hash, EASY));
    await waitForJob(r, hash);

    // Work that wins the first job but is too weak for the second request.
    let work = solve(hash, EASY);
    while (workValue(Buffer.from(hash, "hex"), work) >= HARDER) work = solve(hash, EASY);
    const cancel = r.broker.pauseNext("publish", "before", ([topic]) => topic === "cancel/ondemand");
    r.recorded.deliver("ondemand", hash, work, newPayout());
    await cancel.reached;
    expect(await first).toMatchObject({ kind: "work", work });
    expect(await openJob(r, hash)).toBeUndefined();

    // The job is closed and its cancel not yet out: a request at a higher difficulty opens a new one.
    const second = r.flow.work(request(hash, HARDER));
    const reopened = await waitForJob(r, hash);
    expect(reopened.difficulty).toBe(HARDER);
    await until(() => r.recorded.topics().filter((t) => t === "work/ondemand").length === 2);

    cancel.release();
    // Workers cancel by hash alone: the new job's work must follow the cancel, or it dies with it.
    await until(() => r.recorded.topics().length === 4);
    expect(r.recorded.topics()).toEqual([
      "work/ondemand",
      "work/ondemand",
      "cancel/ondemand",
      "work/ondemand",
    ]);
    const jobs = r.recorded.published.filter((p) => !p.topic.startsWith("client/"));
    expect(jobs[3]?.payload).toBe(formatWorkPayload(reopened));

    const better = solve(hash, HARDER);
    r.recorded.deliver("ondemand", hash, better, newPayout());
    expect(await second).toMatchObject({ kind: "work", work: better });
  });

  it("a second valid result judged while the first is being credited is late, credits nobody, and the first answers", async () => {
    const r = await rig();
    const hash = randomHash();
    const asked = r.flow.work(request(hash, EASY));
    const job = await waitForJob(r, hash);

    const credit = r.ledger.pauseNext("recordWin", "before");
    const winner = newPayout();
    const loser = newPayout();
    const work = solve(hash, EASY);
    r.recorded.deliver("ondemand", hash, work, winner);
    await credit.reached;

    let other = solve(hash, EASY);
    while (other === work) other = solve(hash, EASY);
    r.recorded.deliver("ondemand", hash, other, loser);
    await r.counted("late");

    credit.release();
    expect(await asked).toMatchObject({ kind: "work", work });
    expect(await r.sqlite.workerCounters(winner)).toMatchObject({ ondemand: 1 });
    expect(await r.sqlite.workerCounters(loser)).toMatchObject({ ondemand: 0 });
    expect(await r.sqlite.solvedWork(hash)).toMatchObject({ work });
    expect(job.type).toBe("ondemand");
  });

  it("join after the results went by: a replica whose request joins a job that another replica is crediting answers from the results it judged before", async () => {
    const a = await rig();
    const b = await rig(a);
    const hash = randomHash();
    const first = a.flow.work(request(hash, EASY));
    await waitForJob(a, hash);

    // Replica a claims the win and is held before its credit commits (nothing cached yet)...
    const credit = a.ledger.pauseNext("recordWin", "before");
    const [winner, loser] = [newPayout(), newPayout()];
    const work = solve(hash, EASY);
    let other = solve(hash, EASY);
    while (other === work) other = solve(hash, EASY);
    a.recorded.deliver("ondemand", hash, work, winner);
    await credit.reached;
    // ...while every result also reaches b, where no request waits yet: late, nobody to answer.
    b.recorded.deliver("ondemand", hash, work, winner);
    b.recorded.deliver("ondemand", hash, other, loser);
    await b.counted("late", 2);

    // A request on b now finds no work cached and joins the job still open. No result will come
    // again: it is answered from the first one it judged, whose credit b makes durable itself.
    const value = workValue(Buffer.from(hash, "hex"), work);
    expect(await b.flow.work(request(hash, EASY))).toEqual({ kind: "work", work, value });
    expect(b.recorded.topics()).not.toContain("work/ondemand");

    credit.release();
    expect(await first).toEqual({ kind: "work", work, value });
    // One credit for the job, whichever replica's commit came first.
    expect(await a.sqlite.workerCounters(winner)).toMatchObject({ ondemand: 1 });
    expect(await a.sqlite.workerCounters(loser)).toMatchObject({ ondemand: 0 });
  });
});

/** The next job open for `hash`, once the flow has opened it. */
async function waitForJob(r: Rig, hash: string) {
  let job = await openJob(r, hash);
  while (job === undefined) {
    await new Promise((resolve) => setImmediate(resolve));
    job = await openJob(r, hash);
  }
  return job;
}

/** Waits, turn by turn of the event loop, until `condition` holds (the flow's steps are all in-process). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
