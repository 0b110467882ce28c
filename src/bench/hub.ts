/**
 * Hub benchmark (issue 4 targets): on-demand overhead with 100 simulated workers on the embedded
 * broker, and cache-hit throughput over `/service_ws/` and `POST /service/`, the latter beside a
 * bare node:http server answering fixed JSON, measured in the same run with the same client.
 * The load generator runs in a child process (see hub-load.ts), so it does not share the hub's
 * event loop; on a 2-core machine each gets about one core.
 */
import type { LatencySamples, OnDemandSamples, ThroughputSamples } from "./hub-load.js";
import { type Rig, startRig } from "./hub-rig.js";
import { type BenchContext, type BenchSection, median } from "./section.js";

const WORKERS = 100;
/** The swarm's mean solve time: the fastest of WORKERS exponential solvers, each WORKERS times slower. */
const SWARM_MEAN_MS = 50;
const ONDEMAND_RATE = 200;
const WS_SOCKETS = 4;
/** Requests each socket keeps in flight when measuring WebSocket throughput. */
const WS_WINDOW = 64;
/** The offered load at which WebSocket cache-hit latency is measured. */
const WS_LATENCY_RATE = 10_000;
const HTTP_CONNECTIONS = 16;

const TARGETS = {
  overheadP50Ms: 2,
  overheadP99Ms: 10,
  wsRps: 10_000,
  wsP99Ms: 5,
  httpVsBare: 0.5,
};

/** The value at quantile q (0..1) of `values`, nearest rank. */
function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function checked<T extends { failures: number; firstFailure?: string }>(what: string, samples: T): T {
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
  winnerMean: number;
  wsRps: number;
  wsP99: number;
  hubHttpRps: number;
  bareHttpRps: number;
}

/** One run of every measurement; `solved` collects the hashes the hub holds work for. */
async function measure(rig: Rig, seconds: number, run: number, solved: string[]): Promise<RunFigures> {
  const { credentials } = rig;
  const port = rig.hub.httpPort;
  const ondemand = checked(
    "on-demand",
    await rig.load<OnDemandSamples>({ kind: "ondemand", port, rate: ONDEMAND_RATE, seconds, credentials }),
  );
  solved.push(...ondemand.solved);
  const hits = { credentials, hashes: solved };
  const ws = checked(
    "WebSocket cache hits",
    await rig.load<ThroughputSamples>({
      kind: "ws-throughput",
      port,
      sockets: WS_SOCKETS,
      window: WS_WINDOW,
      seconds,
      ...hits,
    }),
  );
  const wsLatency = checked(
    "WebSocket cache-hit latency",
    await rig.load<LatencySamples>({
      kind: "ws-latency",
      port,
      sockets: WS_SOCKETS,
      rate: WS_LATENCY_RATE,
      seconds,
      ...hits,
    }),
  );
  const http = (target: number) =>
    rig
      .load<ThroughputSamples>({
        kind: "http-throughput",
        port: target,
        connections: HTTP_CONNECTIONS,
        seconds,
        ...hits,
      })
      .then((samples) => checked("HTTP cache hits", samples));
  // Alternate which server goes first, so neither always gets the warmer (or the busier) moment.
  const hubFirst = run % 2 === 0;
  const first = await http(hubFirst ? port : rig.barePort);
  const second = await http(hubFirst ? rig.barePort : port);
  const [hubHttp, bareHttp] = hubFirst ? [first, second] : [second, first];
  const rps = (s: ThroughputSamples) => (s.answered * 1000) / s.elapsedMs;
  return {
    overheadP50: percentile(ondemand.overheadMs, 0.5),
    overheadP99: percentile(ondemand.overheadMs, 0.99),
    winnerMean: ondemand.winnerMs.reduce((a, b) => a + b, 0) / ondemand.winnerMs.length,
    wsRps: rps(ws),
    wsP99: percentile(wsLatency.latencyMs, 0.99),
    hubHttpRps: rps(hubHttp),
    bareHttpRps: rps(bareHttp),
  };
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const verdict = (ok: boolean) => (ok ? "ok" : "MISSED");

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
  const med = (pick: (f: RunFigures) => number) => median(perRun.map(pick));
  const p50 = med((f) => f.overheadP50);
  const p99 = med((f) => f.overheadP99);
  const wsRps = med((f) => f.wsRps);
  const wsP99 = med((f) => f.wsP99);
  const hubHttp = med((f) => f.hubHttpRps);
  const bareHttp = med((f) => f.bareHttpRps);
  const ratio = med((f) => f.hubHttpRps / f.bareHttpRps);
  const row = (label: string, value: string, target: string, ok: boolean) =>
    log(`  ${label.padEnd(46)} ${value.padStart(13)}   target ${target.padEnd(14)} ${verdict(ok)}`);
  log(
    `  on-demand: ${ONDEMAND_RATE} requests/s over POST /service/, ${WORKERS} workers on MQTT, winner's compute mean ${med((f) => f.winnerMean).toFixed(1)} ms (aimed at ${SWARM_MEAN_MS})`,
  );
  row(
    "on-demand overhead p50",
    `${p50.toFixed(2)} ms`,
    `<= ${TARGETS.overheadP50Ms} ms`,
    p50 <= TARGETS.overheadP50Ms,
  );
  row(
    "on-demand overhead p99",
    `${p99.toFixed(2)} ms`,
    `<= ${TARGETS.overheadP99Ms} ms`,
    p99 <= TARGETS.overheadP99Ms,
  );
  row(
    `/service_ws/ cache hits (${WS_SOCKETS} sockets x ${WS_WINDOW} in flight)`,
    `${Math.round(wsRps)} req/s`,
    `>= ${TARGETS.wsRps}`,
    wsRps >= TARGETS.wsRps,
  );
  row(
    `/service_ws/ cache-hit p99 at ${WS_LATENCY_RATE} req/s offered`,
    `${wsP99.toFixed(2)} ms`,
    `<= ${TARGETS.wsP99Ms} ms`,
    wsP99 <= TARGETS.wsP99Ms,
  );
  row(
    `POST /service/ cache hits (${HTTP_CONNECTIONS} keep-alive conns)`,
    `${Math.round(hubHttp)} req/s`,
    "",
    true,
  );
  row("bare node:http, fixed JSON (reference)", `${Math.round(bareHttp)} req/s`, "", true);
  row(
    "POST /service/ vs bare node:http",
    `${ratio.toFixed(2)}x`,
    `>= ${TARGETS.httpVsBare}x`,
    ratio >= TARGETS.httpVsBare,
  );
  return {
    hub_ondemand_overhead_p50_ms: round(p50),
    hub_ondemand_overhead_p99_ms: round(p99),
    hub_ondemand_winner_mean_ms: round(
      med((f) => f.winnerMean),
      1,
    ),
    hub_ws_cache_rps: Math.round(wsRps),
    hub_ws_cache_p99_ms: round(wsP99),
    hub_http_cache_rps: Math.round(hubHttp),
    bare_http_rps: Math.round(bareHttp),
    hub_http_vs_bare_ratio: round(ratio, 3),
  };
}

export const hubSection: BenchSection = {
  name: "hub",
  title: "Hub: on-demand overhead and cache hits (embedded broker; load generator in a child process)",
  run,
};
