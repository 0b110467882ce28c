import { randomInt } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { formatU64, parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { parseWorkPayload, workTypeOf } from "../../src/protocol/topics.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, newPayout, randomHash, solve } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  tempDir,
  waitForValue,
} from "../helpers/hub-process.js";

/**
 * The hub is SIGKILLed at random points while services ask for work and workers race to answer,
 * then restarted on the same database, again and again. Afterwards the ledger must hold each solved
 * job exactly once, every work a service received must be credited to a worker that sent it, and
 * the counters must agree with the wins rows. The kill delays come from a seeded generator: set
 * DPOW_CRASH_SEED to the seed a failure printed to replay its schedule.
 */

const SEED = Number(process.env.DPOW_CRASH_SEED ?? randomInt(2 ** 31));
const KILLS = 6;
const WORKERS = 3;
const SERVICE_LOOPS = 3;
/** Old winning results republished after each restart (as their winner and as a thief). */
const REPLAYS = 4;

const temp = tempDir();
const db = join(temp.dir, "hub.db");
const payouts = Array.from({ length: WORKERS }, () => newPayout());
/** `hash,work,payout` of every result a worker published: a credit must match one of these. */
const sent = new Set<string>();
/** Hashes the services asked for: a credit for any other hash came from nowhere. */
const requested = new Set<string>();
const answered: Array<{ hash: string; work: string }> = [];
let hub: HubProcess | undefined;
let workers: FakeWorker[] = [];

const sentKey = (hash: string, work: string, payout: string) => `${hash},${work},${payout}`;

/** mulberry32: a tiny seeded generator, so a failing kill schedule can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface WinRow {
  job_id: string;
  hash: string;
  type: string;
  worker: string;
  service: string | null;
  difficulty: string;
  work: string;
}

function readLedger(): { wins: WinRow[]; counters: Map<string, { precache: number; ondemand: number }> } {
  const conn = new Database(db, { readonly: true });
  try {
    const wins = conn.prepare("SELECT * FROM wins ORDER BY id").all() as WinRow[];
    const rows = conn.prepare("SELECT address, precache, ondemand FROM workers").all() as Array<{
      address: string;
      precache: number;
      ondemand: number;
    }>;
    return { wins, counters: new Map(rows.map((r) => [r.address, r])) };
  } finally {
    conn.close();
  }
}

/** An honest worker that solves every job at once and remembers what it sent. */
async function connectWorker(mqttPort: number, payout: string): Promise<FakeWorker> {
  const worker = await FakeWorker.connect(mqttPort, { payout });
  worker.client.on("message", (topic, payload) => {
    const type = workTypeOf(topic);
    const job = parseWorkPayload(payload);
    if (!topic.startsWith("work/") || type === null || !job.ok) return;
    const work = solve(job.value.hash, job.value.difficulty);
    sent.add(sentKey(job.value.hash, formatU64(work), payout));
    worker.publishResult(job.value.hash, work, type).catch(() => {});
  });
  return worker;
}

/** Asks for work on fresh hashes, one request after another, until `running()` turns false. */
async function serviceLoop(
  target: HubProcess,
  credentials: { user: string; api_key: string },
  running: () => boolean,
  onAnswer: () => void,
): Promise<void> {
  while (running()) {
    const hash = randomHash();
    requested.add(hash);
    // A request cut off by the kill is not retried: a retry on a new hub is a new job, paid again.
    const reply = await postWork(target, { ...credentials, hash, timeout: 2 }).catch(() => undefined);
    if (reply === undefined) return;
    if (typeof reply.json.work === "string") {
      answered.push({ hash: reply.json.hash as string, work: reply.json.work });
      onAnswer();
    }
  }
}

/** Republishes old winning results, waits until the new hub has judged them all, and returns how many. */
async function replayOldWins(target: HubProcess, wins: WinRow[], random: () => number): Promise<number> {
  const picks = Array.from({ length: Math.min(REPLAYS, wins.length) }, () => {
    return wins[Math.floor(random() * wins.length)] as WinRow;
  });
  const [first] = workers;
  if (!first) throw new Error("no worker connected");
  for (const win of picks) {
    await first.publishResult(win.hash, parseU64(win.work, "work"), "ondemand", win.worker);
    await first.publishResult(win.hash, parseU64(win.work, "work"), "ondemand", first.payout);
  }
  const judged = async () =>
    (await metric(target, 'dpow_results_total{outcome="late"}')) +
    (await metric(target, 'dpow_results_total{outcome="improved"}'));
  await waitForValue("replayed results judged", judged, (n) => n === picks.length * 2);
  return picks.length * 2;
}

/** One hub lifetime: start, replay, serve until the kill point (or until told to stop), stop. */
async function generation(
  credentials: { user: string; api_key: string },
  random: () => number,
  ending: "kill" | "clean",
): Promise<void> {
  const before = readLedger().wins;
  const current = await spawnHub(db);
  hub = current;
  workers = await Promise.all(payouts.map((p) => connectWorker(current.mqttPort, p)));

  await replayOldWins(current, before, random);
  expect(readLedger().wins, `seed ${SEED}: a replayed result changed the ledger`).toEqual(before);

  let running = true;
  let answers = 0;
  const loops = Array.from({ length: SERVICE_LOOPS }, () =>
    serviceLoop(
      current,
      credentials,
      () => running,
      () => {
        answers += 1;
      },
    ),
  );
  await waitForValue(
    "first answer of this hub",
    async () => answers,
    (n) => n > 0,
  );
  // The kill point: somewhere in a stream of requests, results, wins and answers.
  await new Promise((resolve) => setTimeout(resolve, 50 + random() * 600));
  if (ending === "kill") await current.stop("SIGKILL");
  running = false;
  await Promise.all(loops);
  if (ending === "clean") expect(await current.stop("SIGTERM")).toBe(0);
  await Promise.all(workers.map((w) => w.close()));
  workers = [];
}

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close()));
  await hub?.stop("SIGKILL");
  temp.remove();
});

it("credits each solved job exactly once across random SIGKILLs of the hub", async () => {
  const added = runCli(["service", "add", "crash", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  const credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  const random = seeded(SEED);

  for (let kill = 0; kill < KILLS; kill++) await generation(credentials, random, "kill");
  await generation(credentials, random, "clean");

  const { wins, counters } = readLedger();
  const why = (what: string) => `seed ${SEED}: ${what}`;
  expect(answered.length, why("too few answers to judge")).toBeGreaterThanOrEqual(KILLS + 1);

  // No job and no hash credited twice (every request asked for a fresh hash).
  expect(new Set(wins.map((w) => w.job_id)).size, why("a job credited twice")).toBe(wins.length);
  expect(new Set(wins.map((w) => w.hash)).size, why("a hash credited twice")).toBe(wins.length);

  // Every credit is real: work a worker sent, for a hash a service asked for, valid at its difficulty.
  for (const win of wins) {
    expect(sent.has(sentKey(win.hash, win.work, win.worker)), why(`credit ${win.job_id} not sent`)).toBe(
      true,
    );
    expect(requested.has(win.hash), why(`credit for unrequested ${win.hash}`)).toBe(true);
    const value = workValue(parseHash(win.hash), parseU64(win.work, "work"));
    expect(value >= parseU64(win.difficulty, "difficulty"), why(`invalid work in ${win.job_id}`)).toBe(true);
    expect([win.type, win.service]).toEqual(["ondemand", credentials.user]);
  }

  // Nothing lost: every work a service received is exactly the credited one.
  const byHash = new Map(wins.map((w) => [w.hash, w]));
  for (const answer of answered) {
    expect(byHash.get(answer.hash)?.work, why(`answer for ${answer.hash} not credited`)).toBe(answer.work);
  }

  // The counters agree with the rows, worker by worker.
  const expected = new Map<string, { precache: number; ondemand: number }>();
  for (const win of wins) {
    const c = expected.get(win.worker) ?? { precache: 0, ondemand: 0 };
    c[win.type === "precache" ? "precache" : "ondemand"] += 1;
    expected.set(win.worker, c);
  }
  expect(Object.fromEntries(counters), why("counters disagree with wins")).toEqual(
    Object.fromEntries([...expected].map(([address, c]) => [address, { address, ...c }])),
  );
});
