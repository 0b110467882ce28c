/**
 * Hub benchmark (issue 4 targets): on-demand overhead with 100 simulated workers on the embedded
 * broker, and cache-hit throughput over `/service_ws/` and `POST /service/`, the latter beside a
 * bare node:http server answering fixed JSON, measured in the same run with the same client.
 * The load generator runs in a child process (see hub-load.ts), so it does not share the hub's
 * event loop; on a 2-core machine each gets about one core, and both CPU shares are printed.
 */
import type {
  Failures,
  LatencySamples,
  LoadCommand,
  OnDemandSamples,
  ThroughputSamples,
} from "./hub-load.js";
import { type Measured, type Rig, startRig } from "./hub-rig.js";
import { type BenchContext, type BenchSection, median, percentile } from "./section.js";

const WORKERS = 100;
/** The swarm's mean solve time: the fastest of WORKERS exponential solvers, each WORKERS times slower. */
const SWARM_MEAN_MS = 50;
const ONDEMAND_RATE = 200;
const WS_SOCKETS = 4;
/** Requests each socket keeps in flight when measuring WebSocket throughput. */
const WS_WINDOW = 64;
/** The offered load at which WebSocket cache-hit latency is measured (not saturating). */
const WS_LATENCY_RATE = 10_000;
const HTTP_CONNECTIONS = 16;

const TARGETS = {
  overheadP50Ms: 2,
  overheadP99Ms: 10,
  wsRps: 10_000,
  wsP99Ms: 5,
  httpVsBare: 0.5,
};

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/** Runs one load command; a run whose requests failed measured something else: refuse its figures. */
async function load<T extends Failures>(rig: Rig, what: string, command: LoadRequest): Promise<Measured<T>> {
  const samples = await rig.load<T>(command);
  if (samples.failures > 0) {
    throw new Error(
      `${what}: ${samples.failures} requests failed (first: ${samples.firstFailure}); figures not valid`,
    );
  }
  return samples;
}

interface RunFigures {
  overheadP50: number;
  overheadP99: number;
  toWorkerP50: number;
  toServiceP50: number;
  winnerMean: number;
  ondemandHubCpu: number;
  ondemandLoadCpu: number;
  wsRps: number;
  wsP99: number;
  hubHttpRps: number;
  bareHttpRps: number;
}

type LoadRequest = Exclude<LoadCommand, { kind: "close" }>;

const rps = (s: ThroughputSamples) => (s.answered * 1000) / s.elapsedMs;

/** One run of every measurement; `solved` collects the hashes the hub holds work for. */
async function measure(rig: Rig, seconds: number, run: number, solved: string[]): Promise<RunFigures> {
  const { credentials } = rig;
  const port = rig.hub.httpPort;
  const ondemand = await load<OnDemandSamples>(rig, "on-demand", {
    kind: "ondemand",
    port,
    rate: ONDEMAND_RATE,
    seconds,
    credentials,
  });
  solved.push(...ondemand.solved);
  const hits = { credentials, hashes: solved, seconds };
  const ws = { port, sockets: WS_SOCKETS, ...hits };
  const wsThroughput = await load<ThroughputSamples>(rig, "WebSocket cache hits", {
    kind: "ws-throughput",
    window: WS_WINDOW,
    ...ws,
  });
  const wsLatency = await load<LatencySamples>(rig, "WebSocket cache-hit latency", {
    kind: "ws-latency",
    rate: WS_LATENCY_RATE,
    ...ws,
  });
  const http = (target: number) =>
    load<ThroughputSamples>(rig, "HTTP cache hits", {
      kind: "http-throughput",
      port: target,
      connections: HTTP_CONNECTIONS,
      ...hits,
    });
  // Alternate which server goes first, so neither always gets the warmer (or the busier) moment.
  const hubFirst = run % 2 === 0;
  const first = await http(hubFirst ? port : rig.barePort);
  const second = await http(hubFirst ? rig.barePort : port);
  const [hubHttp, bareHttp] = hubFirst ? [first, second] : [second, first];
  return {
    ...onDemandFigures(ondemand),
    wsRps: rps(wsThroughput),
    wsP99: percentile(wsLatency.latencyMs, 0.99),
    hubHttpRps: rps(hubHttp),
    bareHttpRps: rps(bareHttp),
  };
}

function onDemandFigures(samples: Measured<OnDemandSamples>) {
  return {
    overheadP50: percentile(samples.overheadMs, 0.5),
    overheadP99: percentile(samples.overheadMs, 0.99),
    toWorkerP50: percentile(samples.toWorkerMs, 0.5),
    toServiceP50: percentile(samples.toServiceMs, 0.5),
    winnerMean: mean(samples.winnerMs),
    ondemandHubCpu: samples.hubCpuPercent,
    ondemandLoadCpu: samples.loadCpuPercent,
  };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Prints the figures beside their targets; returns them for --json. */
function report(perRun: RunFigures[], log: (line: string) => void): Record<string, unknown> {
  const med = (pick: (f: RunFigures) => number) => median(perRun.map(pick));
  const f = {
    p50: med((r) => r.overheadP50),
    p99: med((r) => r.overheadP99),
    toWorker: med((r) => r.toWorkerP50),
    toService: med((r) => r.toServiceP50),
    winner: med((r) => r.winnerMean),
    hubCpu: med((r) => r.ondemandHubCpu),
    loadCpu: med((r) => r.ondemandLoadCpu),
    wsRps: med((r) => r.wsRps),
    wsP99: med((r) => r.wsP99),
    hubHttp: med((r) => r.hubHttpRps),
    bareHttp: med((r) => r.bareHttpRps),
    ratio: med((r) => r.hubHttpRps / r.bareHttpRps),
  };
  const row = (label: string, value: string, target?: { text: string; ok: boolean }) =>
    log(
      `  ${label.padEnd(54)} ${value.padStart(12)}${target ? `   target ${target.text.padEnd(9)} ${target.ok ? "ok" : "MISSED"}` : ""}`,
    );
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  log(
    `  on-demand: ${ONDEMAND_RATE} requests/s, POST /service/, ${WORKERS} workers on MQTT; winner's compute mean ${f.winner.toFixed(1)} ms (aimed at ${SWARM_MEAN_MS}); CPU: hub ${Math.round(f.hubCpu)}%, load generator ${Math.round(f.loadCpu)}%`,
  );
  row("on-demand overhead p50", ms(f.p50), {
    text: `<= ${TARGETS.overheadP50Ms} ms`,
    ok: f.p50 <= TARGETS.overheadP50Ms,
  });
  row("on-demand overhead p99", ms(f.p99), {
    text: `<= ${TARGETS.overheadP99Ms} ms`,
    ok: f.p99 <= TARGETS.overheadP99Ms,
  });
  row(
    "  p50 split: request to winner / result to answer",
    `${f.toWorker.toFixed(2)} / ${f.toService.toFixed(2)} ms`,
  );
  row(
    `/service_ws/ cache hits (${WS_SOCKETS} sockets x ${WS_WINDOW} in flight)`,
    `${Math.round(f.wsRps)} req/s`,
    {
      text: `>= ${TARGETS.wsRps}`,
      ok: f.wsRps >= TARGETS.wsRps,
    },
  );
  row(`/service_ws/ cache-hit p99 at ${WS_LATENCY_RATE} req/s offered`, ms(f.wsP99), {
    text: `<= ${TARGETS.wsP99Ms} ms`,
    ok: f.wsP99 <= TARGETS.wsP99Ms,
  });
  row(
    `POST /service/ cache hits (${HTTP_CONNECTIONS} keep-alive connections)`,
    `${Math.round(f.hubHttp)} req/s`,
  );
  row("bare node:http answering fixed JSON (reference)", `${Math.round(f.bareHttp)} req/s`);
  row("POST /service/ vs bare node:http", `${f.ratio.toFixed(2)}x`, {
    text: `>= ${TARGETS.httpVsBare}x`,
    ok: f.ratio >= TARGETS.httpVsBare,
  });
  return {
    hub_ondemand_overhead_p50_ms: round(f.p50),
    hub_ondemand_overhead_p99_ms: round(f.p99),
    hub_ondemand_to_worker_p50_ms: round(f.toWorker),
    hub_ondemand_to_service_p50_ms: round(f.toService),
    hub_ondemand_winner_mean_ms: round(f.winner, 1),
    hub_ondemand_hub_cpu_percent: Math.round(f.hubCpu),
    hub_ondemand_load_cpu_percent: Math.round(f.loadCpu),
    hub_ws_cache_rps: Math.round(f.wsRps),
    hub_ws_cache_p99_ms: round(f.wsP99),
    hub_http_cache_rps: Math.round(f.hubHttp),
    bare_http_rps: Math.round(f.bareHttp),
    hub_http_vs_bare_ratio: round(f.ratio, 3),
  };
}

async function run(context: BenchContext): Promise<Record<string, unknown>> {
  const { seconds, runs, log } = context;
  const rig = await startRig();
  const perRun: RunFigures[] = [];
  try {
    if (rig.hub.mqttPort === null) throw new Error("the benchmark needs the embedded broker");
    await rig.load({
      kind: "swarm",
      mqttPort: rig.hub.mqttPort,
      password: rig.clientPassword,
      workers: WORKERS,
      meanSolveMs: SWARM_MEAN_MS * WORKERS,
    });
    const solved: string[] = [];
    // A short warm-up, not counted: JIT compilation, connection set-up, a cache to hit.
    await measure(rig, Math.min(seconds, 0.5), 0, solved);
    for (let r = 0; r < runs; r++) {
      perRun.push(await measure(rig, seconds, r, solved));
      log(`  run ${r + 1}/${runs} done`);
    }
  } finally {
    await rig.close();
  }
  return report(perRun, log);
}

export const hubSection: BenchSection = {
  name: "hub",
  title: "Hub: on-demand overhead and cache hits (embedded broker; load generator in a child process)",
  run,
};
