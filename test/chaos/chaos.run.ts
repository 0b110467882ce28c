/**
 * Chaos with real components (`npm run chaos`): two `dpow server` replicas on their own Mosquitto
 * (the shipped deploy/mosquitto config), redis-server and PostgreSQL, two `dpow worker` processes
 * racing on every job, and a steady request load. While it runs, one fault at a time: SIGKILL a
 * replica and start it again, restart Redis, restart Mosquitto, stop PostgreSQL for 10 s. At the
 * end: every answer valid for its difficulty, every answered hash credited exactly once, no credit
 * without a win, every request resolved within its timeout (a clear error, never a hang), and the
 * system serving again after each fault without anyone restarting a hub.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { type RunningMosquitto, startMosquitto } from "../broker/mosquitto.js";
import { DPOW_BIN, runCli } from "../helpers/cli.js";
import { stopDaemon } from "../helpers/daemon.js";
import { newPayout } from "../helpers/fake-worker.js";
import { type HubProcess, spawnHub, tempDir } from "../helpers/hub-process.js";
import { type OwnServer, startPostgresServer, startRedisServer } from "../helpers/own-servers.js";
import { freePort } from "../helpers/ports.js";
import { Load, type RequestRecord } from "./load.js";

/** 65,536 hashes per job at the base: a millisecond or so on one CPU thread. */
const DIFFICULTY = "ffff000000000000";
const BASE = parseU64(DIFFICULTY, "difficulty");
const TIMEOUT_S = 3;
const HANG_MARGIN_MS = 3000;
/** Longest a fault may take to be forgotten: both replicas answering work again. */
const RECOVERY_CEILING_MS = 60_000;
const STEADY_MS = 6000;

interface Replica {
  name: string;
  port: number;
  hub: HubProcess | undefined;
  /** Every process it ran as, and how each ended. */
  runs: HubProcess[];
}

const temp = tempDir();
let mosquitto: RunningMosquitto;
let redis: OwnServer;
let postgres: OwnServer;
const replicas: Replica[] = [];
const workers: Array<{ payout: string; child: ChildProcess }> = [];
let load: Load | undefined;
let phase = "warm-up";
/** When replica b was down: requests to it meanwhile may fail to connect. */
const killed = { from: 0, to: 0 };
/** recoveredMs is undefined when the replicas were not serving again within the ceiling. */
const faults: Array<{ name: string; downMs: number; recoveredMs: number | undefined }> = [];

async function startReplica(replica: Replica): Promise<void> {
  const mqttUrl = `mqtt://dpowserver:${mosquitto.passwords.dpowserver}@127.0.0.1:${mosquitto.mqttPort}`;
  const args = ["--port", String(replica.port), "--difficulty", DIFFICULTY, "--mqtt-url", mqttUrl];
  // Debug lines (job broadcast, won, served) explain a broken invariant; kept in memory only.
  args.push("--redis", redis.url, "--postgres", postgres.url, "--log-level", "debug");
  const hub = await spawnHub(join(temp.dir, `unused-${replica.name}.db`), args);
  replica.hub = hub;
  replica.runs.push(hub);
}

function startWorker(): void {
  const payout = newPayout();
  const server = `mqtt://client:${mosquitto.passwords.client}@127.0.0.1:${mosquitto.mqttPort}`;
  const args = ["worker", "--payout", payout, "--server", server, "--threads", "1", "--no-benchmark"];
  const child = spawn(process.execPath, [DPOW_BIN, ...args, "--json-logs"], { stdio: "ignore" });
  workers.push({ payout, child });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every replica has answered work to a request started after `since`; false if none did in time. */
async function recovered(since: number): Promise<boolean> {
  const deadline = Date.now() + RECOVERY_CEILING_MS;
  const answered = (name: string) =>
    load?.records.some((r) => r.target === name && r.startedAt >= since && r.outcome === "work");
  while (!replicas.every((r) => answered(r.name))) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Runs one fault: `inject` takes something away, `repair` brings it back; records how long it took to recover. */
async function fault(name: string, inject: () => Promise<void>, downMs: number, repair: () => Promise<void>) {
  phase = name;
  const started = Date.now();
  await inject();
  await sleep(downMs);
  await repair();
  const repaired = Date.now();
  phase = `${name}: recovering`;
  const back = await recovered(repaired);
  faults.push({ name, downMs: repaired - started, recoveredMs: back ? Date.now() - repaired : undefined });
  phase = "steady";
  await sleep(STEADY_MS);
}

beforeAll(async () => {
  mosquitto = await startMosquitto();
  redis = await startRedisServer();
  postgres = await startPostgresServer();
  const added = runCli(["service", "add", "chaos", "--rate", "0", "--postgres", postgres.url, "--json"]);
  if (added.status !== 0) throw new Error(`dpow service add failed: ${added.stderr}`);
  const credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  for (const name of ["a", "b"]) replicas.push({ name, port: await freePort(), hub: undefined, runs: [] });
  await Promise.all(replicas.map(startReplica));
  startWorker();
  startWorker();
  load = new Load({
    targets: replicas.map((r) => ({
      name: r.name,
      url: () => (r.hub ? r.hub.url("/service/") : undefined),
    })),
    credentials,
    base: BASE,
    clients: 4,
    pauseMs: 100,
    timeoutS: TIMEOUT_S,
    hangMarginMs: HANG_MARGIN_MS,
    phase: () => phase,
  });
}, 120_000);

afterAll(async () => {
  await load?.stop();
  await Promise.all(workers.map((w) => stopDaemon(w.child)));
  await Promise.all(replicas.flatMap((r) => r.runs.map((hub) => hub.stop("SIGKILL"))));
  await mosquitto?.dispose();
  await redis?.dispose();
  await postgres?.dispose();
  temp.remove();
}, 60_000);

describe("chaos: two replicas on Mosquitto, Redis and PostgreSQL while each fails in turn", () => {
  it("answers only valid work, credits each answer once, never hangs, and recovers by itself", async () => {
    const activeLoad = load as Load;
    const startedAt = Date.now();
    activeLoad.start();
    if (!(await recovered(startedAt))) throw new Error("the replicas never answered work at start");
    phase = "steady";
    await sleep(STEADY_MS);

    const b = replicas[1] as Replica;
    await fault(
      "replica b SIGKILLed",
      async () => {
        const hub = b.hub as HubProcess;
        b.hub = undefined;
        killed.from = Date.now();
        await hub.stop("SIGKILL");
      },
      2000,
      async () => {
        await startReplica(b);
        killed.to = Date.now();
      },
    );
    await fault(
      "Redis restarted",
      () => redis.stop(),
      3000,
      () => redis.start(),
    );
    await fault(
      "Mosquitto restarted",
      () => mosquitto.stop(),
      6000,
      () => mosquitto.start(),
    );
    await fault(
      "PostgreSQL stopped",
      () => postgres.stop(),
      10_000,
      () => postgres.start(),
    );
    phase = "final";
    const finalFrom = Date.now();
    await sleep(STEADY_MS);
    await activeLoad.stop();

    // Nothing died that the run did not kill: the replicas it started and the workers still run.
    for (const replica of replicas) {
      const last = (replica.hub?.logs ?? []).slice(-8).map((line) => JSON.stringify(line));
      const stderr = (replica.hub?.stderr ?? []).slice(-20);
      expect(
        replica.hub?.child.exitCode,
        `replica ${replica.name} exited; its last log lines:\n${last.join("\n")}\nits stderr:\n${stderr.join("\n")}`,
      ).toBeNull();
    }
    for (const worker of workers) expect(worker.child.exitCode, "a worker exited").toBeNull();
    // A clean stop of each replica, so every count is flushed to the ledger.
    for (const replica of replicas) expect(await replica.hub?.stop("SIGTERM")).toBe(0);

    const records = activeLoad.records;
    const wins = await readWins(postgres.url);
    report(records, wins, Date.now() - startedAt);
    const broken = invariantsBroken(records, wins, finalFrom);
    if (broken.length > 0) explain(records, wins);
    expect(broken).toEqual([]);
  }, 600_000);
});

/** Every invariant the run broke, one line each (all of them, not only the first). */
function invariantsBroken(records: RequestRecord[], wins: Wins, finalFrom: number): string[] {
  const broken: string[] = [];
  for (const f of faults) {
    if (f.recoveredMs === undefined)
      broken.push(`not serving again ${RECOVERY_CEILING_MS / 1000} s after "${f.name}"`);
  }
  const fail = (what: string, examples: string[]) => {
    if (examples.length > 0) broken.push(`${what} (${examples.length}): ${examples.slice(0, 5).join("; ")}`);
  };
  // Every answer valid for the difficulty asked (the client checks it: a failure is "bad").
  fail(
    "answers that were neither valid work nor an error",
    records.filter((r) => r.outcome === "bad").map((r) => `${r.target} in "${r.phase}": ${r.detail}`),
  );
  // Clear errors, not hangs: every request ended within its timeout + margin.
  fail(
    "requests that hung",
    records.filter((r) => r.outcome === "hang").map((r) => `${r.target} in "${r.phase}"`),
  );
  // Connection failures only from the replica that was killed, while it was down.
  const whileKilled = (r: RequestRecord) =>
    r.target === "b" && r.startedAt <= killed.to && r.startedAt + r.ms >= killed.from;
  fail(
    "connections that failed to a replica that was up",
    records
      .filter((r) => r.outcome === "connection" && !whileKilled(r))
      .map((r) => `${r.target} in "${r.phase}": ${r.detail}`),
  );
  // Recovered without a hand: after the last fault every request is answered with work again.
  const final = records.filter((r) => r.startedAt >= finalFrom);
  if (final.length === 0) broken.push("no request after the last fault");
  fail(
    "requests not answered with work after the last fault",
    final.filter((r) => r.outcome !== "work").map((r) => `${r.target}: ${r.detail}`),
  );
  // Every win holds valid work for its job, credited to one of the run's workers.
  const payouts = new Set(workers.map((w) => w.payout));
  fail(
    "wins with invalid work",
    wins.rows
      .filter((w) => workValue(parseHash(w.hash), BigInt(`0x${w.work}`)) < BigInt(`0x${w.difficulty}`))
      .map((w) => w.hash),
  );
  fail(
    "wins credited to someone who is not a worker of the run",
    wins.rows.filter((w) => !payouts.has(w.worker)).map((w) => `${w.hash}: ${w.worker}`),
  );
  // Every answered hash credited exactly once.
  const winsByHash = new Map<string, number>();
  for (const win of wins.rows) winsByHash.set(win.hash, (winsByHash.get(win.hash) ?? 0) + 1);
  const answeredBy = new Map<string, string[]>();
  for (const r of records) {
    if (r.outcome === "work")
      answeredBy.set(r.hash, [...(answeredBy.get(r.hash) ?? []), `${r.target} in "${r.phase}"`]);
  }
  fail(
    "answered hashes not credited exactly once",
    [...answeredBy]
      .filter(([hash]) => winsByHash.get(hash) !== 1)
      .map(
        ([hash, by]) =>
          `${hash.slice(0, 16)}: ${winsByHash.get(hash) ?? 0} wins, answered by ${by.join(", ")}`,
      ),
  );
  // No credit without a win: every worker's counters equal the wins recorded for it.
  const perWorker = new Map<string, { precache: number; ondemand: number }>();
  for (const win of wins.rows) {
    const counts = perWorker.get(win.worker) ?? { precache: 0, ondemand: 0 };
    counts[win.type === "precache" ? "precache" : "ondemand"] += 1;
    perWorker.set(win.worker, counts);
  }
  const addresses = new Set([...perWorker.keys(), ...wins.workers.map((w) => w.address)]);
  fail(
    "worker counters that differ from the wins recorded for them",
    [...addresses].flatMap((address) => {
      const counter = wins.workers.find((w) => w.address === address) ?? { precache: 0, ondemand: 0 };
      const counted = perWorker.get(address) ?? { precache: 0, ondemand: 0 };
      return counter.precache === counted.precache && counter.ondemand === counted.ondemand
        ? []
        : [
            `${address}: counters ${counter.ondemand}+${counter.precache}, wins ${counted.ondemand}+${counted.precache}`,
          ];
    }),
  );
  return broken;
}

interface Wins {
  rows: Array<{
    job_id: string;
    hash: string;
    type: string;
    worker: string;
    difficulty: string;
    work: string;
    at: string;
  }>;
  workers: Array<{ address: string; precache: number; ondemand: number }>;
}

async function readWins(url: string): Promise<Wins> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = (await client.query("SELECT job_id, hash, type, worker, difficulty, work, at FROM wins"))
      .rows;
    const workerRows = await client.query<{ address: string; precache: string; ondemand: string }>(
      "SELECT address, precache, ondemand FROM workers",
    );
    return {
      rows,
      workers: workerRows.rows.map((w) => ({
        address: w.address,
        precache: Number(w.precache),
        ondemand: Number(w.ondemand),
      })),
    };
  } finally {
    await client.end();
  }
}

/** For each answered hash not credited exactly once: its wins, requests and every hub log line naming it. */
function explain(records: RequestRecord[], wins: Wins): void {
  const count = new Map<string, number>();
  for (const win of wins.rows) count.set(win.hash, (count.get(win.hash) ?? 0) + 1);
  const hashes = [...new Set(records.filter((r) => r.outcome === "work").map((r) => r.hash))].filter(
    (hash) => count.get(hash) !== 1,
  );
  const lines: string[] = [];
  for (const hash of hashes.slice(0, 3)) {
    lines.push(`hash ${hash}:`);
    for (const win of wins.rows.filter((w) => w.hash === hash)) {
      lines.push(
        `  win ${win.job_id} at ${new Date(Number(win.at)).toISOString()} to ${win.worker.slice(0, 12)}`,
      );
    }
    for (const r of records.filter((r) => r.hash === hash)) {
      lines.push(
        `  request to ${r.target} at ${new Date(r.startedAt).toISOString()}: ${r.outcome} in ${r.ms} ms`,
      );
    }
    for (const replica of replicas) {
      for (const hub of replica.runs) {
        for (const l of hub.logs.filter((l) => JSON.stringify(l).includes(hash))) {
          lines.push(`  ${replica.name}: ${JSON.stringify(l)}`);
        }
      }
    }
  }
  console.log(lines.join("\n"));
}

/** Error texts with their numbers taken out, so that one cause is one line. */
const errorKey = (r: RequestRecord) =>
  r.outcome === "error" ? (r.detail ?? "").replace(/\d+/g, "N") : `(${r.outcome}) ${r.detail ?? ""}`;

function report(records: RequestRecord[], wins: Wins, ms: number): void {
  const lines = [`chaos run: ${(ms / 1000).toFixed(0)} s, ${records.length} requests`];
  const outcomes = new Map<string, number>();
  for (const r of records) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
  lines.push(`  outcomes: ${[...outcomes].map(([k, n]) => `${k} ${n}`).join(", ")}`);
  const slowest = Math.max(0, ...records.map((r) => r.ms));
  lines.push(`  slowest request: ${slowest} ms (timeout ${TIMEOUT_S} s + ${HANG_MARGIN_MS} ms margin)`);
  lines.push(`  faults injected: ${faults.length}`);
  for (const f of faults) {
    const during = records.filter((r) => r.phase === f.name || r.phase === `${f.name}: recovering`);
    const tally = new Map<string, number>();
    for (const r of during) {
      const key = r.outcome === "work" ? "work" : errorKey(r);
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    const ended = [...tally].map(([text, n]) => `${n} ${text}`).join(", ");
    lines.push(
      `    ${f.name}: down ${(f.downMs / 1000).toFixed(1)} s, ${f.recoveredMs === undefined ? "NOT serving again" : `serving again ${(f.recoveredMs / 1000).toFixed(1)} s`} after repair; ${during.length} requests meanwhile: ${ended}`,
    );
  }
  const errors = new Map<string, number>();
  for (const r of records)
    if (r.outcome !== "work") errors.set(errorKey(r), (errors.get(errorKey(r)) ?? 0) + 1);
  lines.push("  errors by text:");
  for (const [text, n] of [...errors].sort((x, y) => y[1] - x[1])) lines.push(`    ${n} x ${text}`);
  const answeredHashes = new Set(records.filter((r) => r.outcome === "work").map((r) => r.hash));
  lines.push(
    `  answers: ${records.filter((r) => r.outcome === "work").length} (${answeredHashes.size} hashes); wins in PostgreSQL: ${wins.rows.length}; credits: ${wins.workers.map((w) => w.ondemand + w.precache).join(" + ")}`,
  );
  for (const replica of replicas) {
    const logged = replica.runs.flatMap((hub) => hub.logs).filter((l) => Number(l.level) >= 50);
    const byMsg = new Map<string, number>();
    for (const l of logged) {
      const why = (l.err as { message?: string } | undefined)?.message?.replace(/\d+/g, "N");
      const key = why ? `${l.msg} (${why})` : String(l.msg);
      byMsg.set(key, (byMsg.get(key) ?? 0) + 1);
    }
    lines.push(
      `  replica ${replica.name} error log lines:${[...byMsg].map(([m, n]) => `\n    ${n} x ${m}`).join("") || " none"}`,
    );
  }
  console.log(lines.join("\n"));
}
