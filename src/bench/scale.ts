/**
 * Scale benchmark (issue 13): thousands of simulated workers on one hub, each job sent to a random
 * subset of them (the default) and, in the same run, to all of them (broadcast, the design before),
 * beside floors measured in the same run (bench/scale-floor.ts). Workers live in child processes
 * (bench/scale-child.ts), a share each, so no process holds more sockets than its descriptor limit
 * and the hub's event loop is its own; each solves a job after an exponential delay (the geometric
 * number of hashes of a real difficulty), so a job sent to fewer workers takes longer to solve.
 *
 * Sizes come from the environment, so a noisy shared machine can be measured small first:
 *   DPOW_BENCH_SCALE           scenarios, workers@jobs-per-second (default "1000@50,10000@5")
 *   DPOW_BENCH_SCALE_SECONDS   seconds of requests per scenario and mode (default 10)
 *   DPOW_BENCH_SCALE_SOLVE_MS  one worker's mean solve time (default 5000, the hub benchmark's swarm)
 *   DPOW_BENCH_SCALE_FANOUT    fan-out sizes to compare, 0 = broadcast (default: the default size, 0)
 *   DPOW_BENCH_SCALE_CHILDREN  worker processes (default 2)
 *   DPOW_BENCH_SCALE_ONDEMAND  workers@requests-per-second of the on-demand overhead (default "100@200")
 *   DPOW_BENCH_SCALE_FLOOD     MQTT connection attempts against a `dpow server` (default 20000)
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { DEFAULT_ANNOUNCEMENTS } from "../hub/announcements.js";
import { startEmbeddedBroker } from "../hub/broker/embedded.js";
import { FAN_OUT_DEFAULTS } from "../hub/broker/subset-fan-out.js";
import { MQTT_DEFAULTS } from "../hub/launch.js";
import { formatU64 } from "../nano/hex.js";
import { topics } from "../protocol/topics.js";
import { connectionFlood } from "./connection-flood.js";
import type { OnDemandSamples } from "./hub-load.js";
import { BENCH_BASE, call, launchBenchHub, startRig, stopChild } from "./hub-rig.js";
import type { RequestSamples, ScaleCommand, ShareStats } from "./scale-child.js";
import { bareWriteMicros, startOnDemandFloor } from "./scale-floor.js";
import { type BenchContext, type BenchSection, median, percentile } from "./section.js";

/** A fan-out size; 0 = broadcast to every worker. */
type Mode = number;

interface Scenario {
  workers: number;
  rate: number;
}

interface Settings {
  scenarios: Scenario[];
  seconds: number;
  solveMs: number;
  modes: Mode[];
  children: number;
  ondemand: Scenario;
  floodAttempts: number;
}

function scenarios(text: string): Scenario[] {
  return text.split(",").map((part) => {
    const [workers, rate] = part.split("@").map(Number);
    if (!(Number.isInteger(workers) && (workers as number) > 0 && (rate as number) > 0))
      throw new Error(`DPOW_BENCH_SCALE: "${part}" is not workers@rate, like 1000@50`);
    return { workers: workers as number, rate: rate as number };
  });
}

function settingsFrom(env: NodeJS.ProcessEnv): Settings {
  const number = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!(value > 0)) throw new Error(`${name} must be a positive number, got "${env[name]}"`);
    return value;
  };
  const modes = (env.DPOW_BENCH_SCALE_FANOUT ?? `${FAN_OUT_DEFAULTS.size},0`).split(",").map(Number);
  if (modes.some((m) => !(Number.isInteger(m) && m >= 0)))
    throw new Error(
      `DPOW_BENCH_SCALE_FANOUT: fan-out sizes like 256,0, got "${env.DPOW_BENCH_SCALE_FANOUT}"`,
    );
  return {
    scenarios: scenarios(env.DPOW_BENCH_SCALE ?? "1000@50,10000@5"),
    seconds: number("DPOW_BENCH_SCALE_SECONDS", 10),
    solveMs: number("DPOW_BENCH_SCALE_SOLVE_MS", 5000),
    modes,
    children: Math.round(number("DPOW_BENCH_SCALE_CHILDREN", 2)),
    ondemand: scenarios(env.DPOW_BENCH_SCALE_ONDEMAND ?? "100@200")[0] as Scenario,
    floodAttempts: Math.round(number("DPOW_BENCH_SCALE_FLOOD", 20_000)),
  };
}

/** Targets of issue 13, by scenario size; the subset figures are held to them. */
const targets = (workers: number) =>
  workers < 5000
    ? { fanOutP99: 100, cancelP99: 100, serviceP99: 150 }
    : { fanOutP99: 500, cancelP99: Number.POSITIVE_INFINITY, serviceP99: 1000 };
const UPCHECK_P99_MS = 100;
/** A heartbeat gap longer than this means one was late (the interval plus half a second). */
const HEARTBEAT_GAP_MS = DEFAULT_ANNOUNCEMENTS.heartbeatMs + 500;
const DELIVERY_VS_FLOOR = 2;
const ONDEMAND_VS_FLOOR = { p50: 2, p99: 3 };

interface ModeFigures {
  fanOutP99: number;
  cancelP99: number;
  serviceP50: number;
  serviceP99: number;
  /** The same less the winner's compute time: what the hub and the network add (the issue's workers answered at once). */
  hubServiceP50: number;
  hubServiceP99: number;
  upcheckP99: number;
  /** `/upcheck/` probes that got no answer (the connection was reset). */
  upcheckFailures: number;
  deliveriesPerJob: number;
  resultsPerJob: number;
  /** Workers that got a job and not its cancel (should be 0), and cancels to workers without the job. */
  missedCancels: number;
  strayCancels: number;
  heartbeatLate: number;
  heartbeatMaxGap: number;
  microsPerDelivery: number;
  /** The embedded broker's CPU per job or cancel delivered, with nothing else running (deliveryMicros). */
  brokerMicrosPerDelivery: number;
  /** Hub CPU per job, heartbeats and HTTP included: what sets how many jobs a core can take. */
  cpuMsPerJob: number;
  hubCpuPercent: number;
  /** Variance over mean of wins per worker: 1 is as even as a fair lottery, more is lumpier. */
  winDispersion: number;
  maxWins: number;
  failures: number;
  /** What the first failed request got, to print. */
  firstFailure: string | undefined;
}

const toUpper = (p: "p50" | "p99") => (p === "p50" ? "P50" : "P99");

const label = (mode: Mode) => (mode === 0 ? "broadcast" : `subset ${mode}`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function forkChild(): ChildProcess {
  return fork(new URL("./scale-child.js", import.meta.url), [], { stdio: ["ignore", 2, 2, "ipc"] });
}

const send = <T>(child: ChildProcess, command: ScaleCommand) => call<T>(child, command);

async function measureMode(
  settings: Settings,
  scenario: Scenario,
  mode: Mode,
): Promise<Omit<ModeFigures, "brokerMicrosPerDelivery">> {
  const bench = await launchBenchHub({
    sessionsFile: null,
    sessionExpiryMs: 60_000,
    maxSessions: 1000,
    queueLimit: 100,
    maxConnectionsPerIp: 0,
    jobQos: 1,
    fanOut: { ...FAN_OUT_DEFAULTS, size: mode },
  });
  const shares = Array.from({ length: settings.children }, forkChild);
  const requester = forkChild();
  try {
    const per = Math.ceil(scenario.workers / shares.length);
    await Promise.all(
      shares.map((child, i) =>
        send(child, {
          kind: "workers",
          mqttPort: bench.hub.mqttPort as number,
          password: bench.clientPassword,
          first: i * per,
          count: Math.max(0, Math.min(per, scenario.workers - i * per)),
          meanSolveMs: settings.solveMs,
        }),
      ),
    );
    // Every worker has had a heartbeat or two before the gaps are counted.
    await sleep(2 * DEFAULT_ANNOUNCEMENTS.heartbeatMs);
    await Promise.all(shares.map((child) => send(child, { kind: "reset" })));
    const cpu = process.cpuUsage();
    const began = performance.now();
    const samples = await send<RequestSamples>(requester, {
      kind: "requests",
      port: bench.hub.httpPort,
      user: bench.credentials.user,
      apiKey: bench.credentials.apiKey,
      rate: scenario.rate,
      seconds: settings.seconds,
      upcheckRate: 20,
    });
    // The last cancels land.
    await sleep(500);
    // The job's first audience: escalations (later, to more workers) are not its fan-out.
    const firstDeliveries = mode === 0 || mode >= scenario.workers ? scenario.workers : mode;
    const stats = await Promise.all(
      shares.map((child) => send<ShareStats>(child, { kind: "stats", firstDeliveries })),
    );
    const used = process.cpuUsage(cpu);
    const elapsedMs = performance.now() - began;
    return figures(scenario, firstDeliveries, samples, stats, (used.user + used.system) / 1000, elapsedMs);
  } finally {
    await Promise.all([...shares, requester].map(stopChild));
    await bench.close();
  }
}

function figures(
  scenario: Scenario,
  firstDeliveries: number,
  samples: RequestSamples,
  stats: ShareStats[],
  hubCpuMs: number,
  elapsedMs: number,
): Omit<ModeFigures, "brokerMicrosPerDelivery"> {
  const answered = samples.sent.filter((s) => s.error === undefined);
  const fanOut: number[] = [];
  const cancel: number[] = [];
  const serviceLessSolve: number[] = [];
  let jobs = 0;
  let missedCancels = 0;
  let strayCancels = 0;
  for (const sample of samples.sent) {
    const seen = stats.map((s) => s.seen[sample.hash]).filter((e) => e !== undefined);
    const got = seen.reduce((n, e) => n + e.jobs, 0);
    const cancels = seen.reduce((n, e) => n + e.cancels, 0);
    jobs += got;
    missedCancels += Math.max(0, got - cancels);
    strayCancels += Math.max(0, cancels - got);
    const times = seen.flatMap((e) => e.jobTimes).sort((a, b) => a - b);
    if (got > 0) fanOut.push((times[Math.min(firstDeliveries, times.length) - 1] as number) - sample.at);
    const won = seen.flatMap((e) => e.solves).find((s) => s.worker === sample.worker);
    if (sample.error === undefined && won)
      serviceLessSolve.push(sample.answeredAt - sample.at - won.computeMs);
    if (cancels > 0 && sample.error === undefined)
      cancel.push(Math.max(...seen.map((e) => e.cancelLast)) - sample.answeredAt);
  }
  const gaps = stats.flatMap((s) => s.heartbeatGaps);
  const deliveries = stats.reduce((n, s) => n + s.deliveries, 0);
  const results = stats.reduce((n, s) => n + s.results, 0);
  const wins = new Map<number, number>();
  for (const s of answered) if (s.worker !== null) wins.set(s.worker, (wins.get(s.worker) ?? 0) + 1);
  const meanWins = answered.length / scenario.workers;
  let squares = 0;
  for (let w = 0; w < scenario.workers; w++) squares += ((wins.get(w) ?? 0) - meanWins) ** 2;
  const service = answered.map((s) => s.answeredAt - s.at);
  return {
    fanOutP99: percentile(fanOut, 0.99),
    cancelP99: percentile(cancel, 0.99),
    serviceP50: percentile(service, 0.5),
    serviceP99: percentile(service, 0.99),
    hubServiceP50: percentile(serviceLessSolve, 0.5),
    hubServiceP99: percentile(serviceLessSolve, 0.99),
    upcheckP99: percentile(samples.upcheckMs, 0.99),
    upcheckFailures: samples.upcheckFailures.length,
    deliveriesPerJob: jobs / samples.sent.length,
    resultsPerJob: results / samples.sent.length,
    missedCancels,
    strayCancels,
    heartbeatLate: gaps.filter((g) => g > HEARTBEAT_GAP_MS).length,
    heartbeatMaxGap: Math.max(...gaps),
    microsPerDelivery: (hubCpuMs * 1000) / Math.max(1, deliveries),
    cpuMsPerJob: hubCpuMs / Math.max(1, samples.sent.length),
    hubCpuPercent: (hubCpuMs / elapsedMs) * 100,
    winDispersion: squares / scenario.workers / Math.max(meanWins, 1e-9),
    maxWins: Math.max(0, ...wins.values()),
    failures: samples.sent.length - answered.length,
    firstFailure: samples.sent.find((s) => s.error !== undefined)?.error,
  };
}

/** Deliveries (jobs and cancels) the delivery-cost measurement aims at, per mode. */
const DELIVERY_SAMPLE = 100_000;

/**
 * Broker CPU per delivery of jobs and cancels alone: the embedded broker in this process, no hub
 * logic, no heartbeat, workers in child processes that take jobs at QoS 1 (as `dpow worker`
 * subscribes) and never answer. The figure the floor's bare socket write is the least of.
 */
async function deliveryMicros(settings: Settings, workers: number, mode: Mode): Promise<number> {
  const password = randomBytes(12).toString("hex");
  const broker = await startEmbeddedBroker({
    mqttPort: 0,
    host: "127.0.0.1",
    clientPassword: password,
    maxConnectionsPerIp: 0,
    // Nothing escalates while the sample is sent: every job reaches its first audience only.
    fanOut: { size: mode, escalateMs: 600_000 },
  });
  const shares = Array.from({ length: settings.children }, forkChild);
  try {
    const per = Math.ceil(workers / shares.length);
    await Promise.all(
      shares.map((child, i) =>
        send(child, {
          kind: "workers",
          mqttPort: broker.port,
          password,
          first: i * per,
          count: Math.max(0, Math.min(per, workers - i * per)),
          meanSolveMs: null,
        }),
      ),
    );
    const audience = mode === 0 || mode >= workers ? workers : mode;
    const jobs = Math.max(10, Math.ceil(DELIVERY_SAMPLE / (2 * audience)));
    await Promise.all(shares.map((child) => send(child, { kind: "reset" })));
    const received = async () =>
      (await Promise.all(shares.map((child) => send<number>(child, { kind: "count" })))).reduce(
        (a, b) => a + b,
      );
    const difficulty = formatU64(BENCH_BASE);
    const cpu = process.cpuUsage();
    for (let j = 0; j < jobs; j++) {
      const hash = randomBytes(32).toString("hex").toUpperCase();
      // A turn of the event loop after each publish, as between a job and its cancel on a hub: no
      // socket gets two packets in one turn, which would flatter a broker that coalesces writes.
      await broker.hub.publish(topics.work("ondemand"), `${hash},${difficulty}`, { qos: 1 });
      await new Promise((resolve) => setImmediate(resolve));
      await broker.hub.publish(topics.cancel("ondemand"), hash, { qos: 1 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    const expected = 2 * jobs * audience;
    const deadline = performance.now() + 120_000;
    while ((await received()) < expected && performance.now() < deadline) await sleep(20);
    // The last PUBACKs come back.
    await sleep(200);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / Math.max(1, await received());
  } finally {
    await Promise.all(shares.map(stopChild));
    await broker.close();
  }
}

async function floorMicros(sockets: number): Promise<number> {
  const sink = forkChild();
  try {
    const port = await send<number>(sink, { kind: "sink" });
    await bareWriteMicros(port, sockets, 20_000);
    return await bareWriteMicros(port, sockets, 200_000);
  } finally {
    await stopChild(sink);
  }
}

/** On-demand overhead (response time minus the winner's compute) on the hub and on the floor. */
async function ondemandOverhead(settings: Settings, runs: number) {
  const { workers, rate } = settings.ondemand;
  // The floor's swarm is the hub's audience: as many workers get each job, each as fast, at the
  // QoS the hub sends it at (0 to a subset, the job QoS when every worker gets it).
  const audience = FAN_OUT_DEFAULTS.size > 0 ? Math.min(workers, FAN_OUT_DEFAULTS.size) : workers;
  const rig = await startRig();
  const floor = await startOnDemandFloor(BENCH_BASE, audience < workers ? 0 : MQTT_DEFAULTS.jobQos);
  const seconds = Math.min(settings.seconds, 5);
  const overhead = async (port: number, mqttPort: number, count: number, meanSolveMs: number) => {
    await rig.load({ kind: "swarm", mqttPort, password: rig.clientPassword, workers: count, meanSolveMs });
    const s = await rig.load<OnDemandSamples>({
      kind: "ondemand",
      port,
      rate,
      seconds,
      credentials: rig.credentials,
    });
    // A failed request (a timeout on an overloaded machine) is counted and printed, not averaged in.
    return { p50: percentile(s.overheadMs, 0.5), p99: percentile(s.overheadMs, 0.99), failures: s.failures };
  };
  try {
    type Run = { p50: number; p99: number; failures: number };
    const hub: Run[] = [];
    const bare: Run[] = [];
    const echo: Run[] = [];
    for (let r = 0; r < runs; r++) {
      // The hub bench's swarm: the fastest of `workers` solves in 50 ms on average.
      hub.push(await overhead(rig.hub.httpPort, rig.hub.mqttPort as number, workers, 50 * workers));
      bare.push(await overhead(floor.httpPort, floor.mqttPort, audience, 50 * workers));
      // The least round trip: one subscriber that answers at once.
      echo.push(await overhead(floor.httpPort, floor.mqttPort, 1, 0.001));
    }
    const med = (xs: Run[], k: "p50" | "p99") => median(xs.map((x) => x[k]));
    const failed = (xs: Run[]) => xs.reduce((n, x) => n + x.failures, 0);
    return {
      audience,
      hubP50: med(hub, "p50"),
      hubP99: med(hub, "p99"),
      floorP50: med(bare, "p50"),
      floorP99: med(bare, "p99"),
      echoP50: med(echo, "p50"),
      echoP99: med(echo, "p99"),
      hubFailures: failed(hub),
      floorFailures: failed(bare),
    };
  } finally {
    await floor.close();
    await rig.close();
  }
}

const fixed = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "-");
const round = (x: number, digits = 2) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);

function row(label: string, values: string[], target?: { text: string; ok: boolean }): string {
  const cells = values.map((v) => v.padStart(12)).join("");
  return `  ${label.padEnd(40)}${cells}${target ? `   target ${target.text.padEnd(12)} ${target.ok ? "ok" : "MISSED"}` : ""}`;
}

function reportScenario(
  scenario: Scenario,
  modes: Mode[],
  byMode: Map<Mode, ModeFigures>,
  floor: number,
  log: (line: string) => void,
): Record<string, unknown> {
  const t = targets(scenario.workers);
  // Held to the targets: the default fan-out, else the first subset measured.
  const ours = byMode.get(
    modes.includes(FAN_OUT_DEFAULTS.size) ? FAN_OUT_DEFAULTS.size : (modes.find((m) => m > 0) ?? -1),
  );
  const cell = (pick: (f: ModeFigures) => number, digits = 1, unit = " ms") =>
    modes.map((m) => `${fixed(pick(byMode.get(m) as ModeFigures), digits)}${unit}`);
  const held = (pick: (f: ModeFigures) => number, limit: number, text: string) =>
    ours && Number.isFinite(limit) ? { text, ok: pick(ours) <= limit } : undefined;
  log(`  ${scenario.workers} workers, ${scenario.rate} jobs/s`);
  log(row("", modes.map(label)));
  log(
    row(
      "fan-out p99 (request to its first audience)",
      cell((f) => f.fanOutP99),
      held((f) => f.fanOutP99, t.fanOutP99, `<= ${t.fanOutP99} ms`),
    ),
  );
  log(
    row(
      "cancel-to-all p99 (answer to last cancel)",
      cell((f) => f.cancelP99),
      held((f) => f.cancelP99, t.cancelP99, `<= ${t.cancelP99} ms`),
    ),
  );
  log(
    row(
      "service p50 (solve time included)",
      cell((f) => f.serviceP50),
    ),
  );
  log(
    row(
      "service p99 (solve time included)",
      cell((f) => f.serviceP99),
    ),
  );
  log(
    row(
      "service p50 (less the winner's compute)",
      cell((f) => f.hubServiceP50),
    ),
  );
  log(
    row(
      "service p99 (less the winner's compute)",
      cell((f) => f.hubServiceP99),
      held((f) => f.hubServiceP99, t.serviceP99, `<= ${t.serviceP99} ms`),
    ),
  );
  log(
    row(
      "/upcheck/ p99",
      cell((f) => f.upcheckP99),
      held((f) => f.upcheckP99, UPCHECK_P99_MS, `<= ${UPCHECK_P99_MS} ms`),
    ),
  );
  log(
    row(
      "/upcheck/ probes unanswered",
      cell((f) => f.upcheckFailures, 0, ""),
      held((f) => f.upcheckFailures, 0, "0"),
    ),
  );
  log(
    row(
      `workers with a heartbeat gap > ${HEARTBEAT_GAP_MS} ms`,
      cell((f) => f.heartbeatLate, 0, ""),
      held((f) => f.heartbeatLate, 0, "0"),
    ),
  );
  log(
    row(
      "longest heartbeat gap",
      cell((f) => f.heartbeatMaxGap, 0),
    ),
  );
  log(
    row(
      "deliveries per job (workers that got it)",
      cell((f) => f.deliveriesPerJob, 1, ""),
    ),
  );
  log(
    row(
      "results per job (work done, one wins)",
      cell((f) => f.resultsPerJob, 1, ""),
    ),
  );
  log(
    row(
      "got the job but no cancel / cancel, no job",
      modes.map((m) => {
        const f = byMode.get(m) as ModeFigures;
        return `${f.missedCancels} / ${f.strayCancels}`;
      }),
      held((f) => f.missedCancels + f.strayCancels, 0, "0 / 0"),
    ),
  );
  log(
    row(
      "broker CPU per delivery (jobs, cancels alone)",
      cell((f) => f.brokerMicrosPerDelivery, 1, " us"),
      held(
        (f) => f.brokerMicrosPerDelivery,
        DELIVERY_VS_FLOOR * floor,
        `<= ${fixed(DELIVERY_VS_FLOOR * floor)} us`,
      ),
    ),
  );
  log(
    row(
      "hub CPU per delivery (all work included)",
      cell((f) => f.microsPerDelivery, 1, " us"),
    ),
  );
  log(
    row(
      "hub CPU per job (heartbeats included)",
      cell((f) => f.cpuMsPerJob, 2),
    ),
  );
  log(
    row(
      "hub CPU (% of one core)",
      cell((f) => f.hubCpuPercent, 0, " %"),
    ),
  );
  log(
    row(
      "win spread: variance/mean (fair draw: 1)",
      cell((f) => f.winDispersion, 2, ""),
    ),
  );
  log(
    row(
      "most wins by one worker",
      cell((f) => f.maxWins, 0, ""),
    ),
  );
  log(
    row(
      "failed requests",
      cell((f) => f.failures, 0, ""),
      held((f) => f.failures, 0, "0"),
    ),
  );
  const out: Record<string, unknown> = {};
  for (const m of modes) {
    const f = byMode.get(m) as ModeFigures;
    const prefix = `scale_${scenario.workers}_${m === 0 ? "broadcast" : `subset${m}`}_`;
    for (const [key, value] of Object.entries(f))
      if (typeof value === "number") out[`${prefix}${key}`] = round(value, 3);
    if (f.firstFailure !== undefined) log(`  ${label(m)}: the first failed request got: ${f.firstFailure}`);
  }
  return out;
}

/** The descriptor reserve: a flood of MQTT connections against a real `dpow server` process. */
async function reportFlood(attempts: number, log: (line: string) => void): Promise<Record<string, unknown>> {
  const f = await connectionFlood(attempts, 4);
  const cap = f.maxConnections ?? Number.NaN;
  log(
    `  ${attempts} MQTT connection attempts from 250 addresses against \`dpow server\` (its cap: ${cap} connections), a service request and an /upcheck/ every 50 ms meanwhile`,
  );
  log(
    row(
      "accepted / refused (CONNACK 3) / dropped",
      [`${f.accepted} / ${f.refusedWithReason} / ${f.closedUnanswered}`],
      {
        text: "dropped 0",
        ok: f.closedUnanswered === 0 && f.accepted <= cap,
      },
    ),
  );
  log(row("probes unanswered", [String(f.probeFailures)], { text: "0", ok: f.probeFailures === 0 }));
  log(
    row("/upcheck/ p99 during the flood", [`${fixed(f.upcheckMs.p99)} ms`], {
      text: `<= ${UPCHECK_P99_MS} ms`,
      ok: f.upcheckMs.p99 <= UPCHECK_P99_MS,
    }),
  );
  log(row("service p99 during the flood", [`${fixed(f.serviceMs.p99)} ms`]));
  log(row("hub's peak open descriptors", [String(f.hubPeakDescriptors)]));
  log(
    row("log lines about the refusals", [String(f.refusalLogLines)], {
      text: "1 a minute",
      ok:
        f.refusedWithReason === 0 || (f.refusalLogLines >= 1 && f.refusalLogLines <= 1 + f.floodSeconds / 60),
    }),
  );
  log(
    row("hub's exit code on SIGTERM after it", [String(f.hubExit)], { text: "0 (up)", ok: f.hubExit === 0 }),
  );
  return {
    scale_flood_accepted: f.accepted,
    scale_flood_refused: f.refusedWithReason,
    scale_flood_dropped: f.closedUnanswered,
    scale_flood_probe_failures: f.probeFailures,
    scale_flood_upcheck_p99_ms: round(f.upcheckMs.p99),
    scale_flood_hub_exit: f.hubExit,
  };
}

async function run(context: BenchContext): Promise<Record<string, unknown>> {
  const { log } = context;
  const settings = settingsFrom(process.env);
  const out: Record<string, unknown> = {};
  log(
    `  per-worker mean solve ${settings.solveMs} ms, escalation after ${FAN_OUT_DEFAULTS.escalateMs} ms, heartbeat every ${DEFAULT_ANNOUNCEMENTS.heartbeatMs} ms`,
  );
  for (const scenario of settings.scenarios) {
    const floor = await floorMicros(scenario.workers);
    log(
      `  floor: a bare 78-byte loopback socket write to one of ${scenario.workers} sockets costs ${fixed(floor, 2)} us of CPU`,
    );
    out[`scale_${scenario.workers}_floor_write_us`] = round(floor, 3);
    const byMode = new Map<Mode, ModeFigures>();
    for (const mode of settings.modes) {
      const brokerMicrosPerDelivery = await deliveryMicros(settings, scenario.workers, mode);
      byMode.set(mode, { ...(await measureMode(settings, scenario, mode)), brokerMicrosPerDelivery });
      log(`  ${scenario.workers} workers, ${label(mode)}: done`);
    }
    Object.assign(out, reportScenario(scenario, settings.modes, byMode, floor, log));
  }
  const o = await ondemandOverhead(settings, context.runs);
  const { workers, rate } = settings.ondemand;
  log(
    `  on-demand overhead, ${workers} workers, ${rate} requests/s (response time minus the winner's compute);`,
  );
  log(
    `  floor: a bare aedes broker and an HTTP handler, each job to ${o.audience} workers (as many as the hub sends it to, at its QoS); echo: one subscriber`,
  );
  log(row("", ["hub", "floor", "echo"]));
  for (const p of ["p50", "p99"] as const) {
    const [hub, floor, echo] = [o[`hub${toUpper(p)}`], o[`floor${toUpper(p)}`], o[`echo${toUpper(p)}`]];
    log(
      row(
        p,
        [hub, floor, echo].map((x) => `${fixed(x, 2)} ms`),
        {
          text: `<= ${ONDEMAND_VS_FLOOR[p]}x floor`,
          ok: hub <= ONDEMAND_VS_FLOOR[p] * floor,
        },
      ),
    );
    out[`scale_ondemand_hub_${p}_ms`] = round(hub);
    out[`scale_ondemand_floor_${p}_ms`] = round(floor);
    out[`scale_ondemand_echo_${p}_ms`] = round(echo);
  }
  log(
    row("failed requests", [String(o.hubFailures), String(o.floorFailures), ""], {
      text: "0",
      ok: o.hubFailures === 0,
    }),
  );
  out.scale_ondemand_hub_failures = o.hubFailures;
  Object.assign(out, await reportFlood(settings.floodAttempts, log));
  return out;
}

export const scaleSection: BenchSection = {
  name: "scale",
  title: "Scale: thousands of workers on one hub, subset fan-out vs broadcast (workers in child processes)",
  run,
};
