/**
 * The hub benchmark's load generator, run as a child process (forked by bench/hub.ts) so that it
 * competes with the hub for the machine's cores the way real services and workers would, not for
 * the hub's own event loop. It takes one command at a time over IPC and answers with raw samples;
 * the parent turns them into figures.
 */
import { randomBytes } from "node:crypto";
import WebSocket from "ws";
import { ConnectionPool, encodePost, KeepAliveConnection } from "./hub-http-client.js";
import { holdKey, SimulatedSwarm, type SwarmOptions } from "./hub-workers.js";

export interface Credentials {
  user: string;
  apiKey: string;
}

/** Requests for hashes the hub holds work for, sent round-robin. */
export interface CacheHits {
  credentials: Credentials;
  hashes: string[];
}

export type LoadCommand =
  | ({ kind: "swarm" } & SwarmOptions)
  | { kind: "ondemand"; port: number; rate: number; seconds: number; credentials: Credentials }
  | ({ kind: "ws-throughput"; port: number; sockets: number; window: number; seconds: number } & CacheHits)
  | ({ kind: "ws-latency"; port: number; sockets: number; rate: number; seconds: number } & CacheHits)
  | ({ kind: "http-throughput"; port: number; connections: number; seconds: number } & CacheHits)
  | { kind: "close" };

export interface Failures {
  failures: number;
  firstFailure?: string;
}

/** What every command answers besides its samples: how busy the load generator itself was. */
export interface LoadCpu {
  /** CPU time of this process over the command, in % of one core: near 100, it may be the bottleneck. */
  loadCpuPercent: number;
}

export interface OnDemandSamples extends Failures {
  /** Response time minus the winning worker's hold time, per answered request. */
  overheadMs: number[];
  /** Of that: from sending the request to the winning worker receiving the job. */
  toWorkerMs: number[];
  /** Of that: from the winning worker publishing its result to the service receiving it. */
  toServiceMs: number[];
  /** The winning worker's hold time, per answered request. */
  winnerMs: number[];
  /** Hashes now solved and cached on the hub. */
  solved: string[];
}

export interface ThroughputSamples extends Failures {
  answered: number;
  elapsedMs: number;
}

export interface LatencySamples extends Failures {
  latencyMs: number[];
}

export type LoadReply = { ok: true; result: unknown } | { ok: false; error: string };

/** In-flight requests still unanswered this long after the last was sent are failures. */
const DRAIN_MS = 10_000;
/** A cache-hit answer carries work; anything else (an error) is a failure. */
const isWork = (body: string): boolean => body.includes('"work"');

/** The JSON body of a service request for `hash`, with an `id` when given. */
function requestBody(credentials: Credentials, hash: string, id?: number): string {
  const idPart = id === undefined ? "" : `,"id":${id}`;
  return `{"user":${JSON.stringify(credentials.user)},"api_key":${JSON.stringify(credentials.apiKey)},"hash":"${hash}"${idPart}}`;
}

class FailureCount implements Failures {
  failures = 0;
  firstFailure?: string;

  add(what: string): void {
    this.failures += 1;
    this.firstFailure ??= what.slice(0, 300);
  }
}

/** Calls send(i) for i = 0, 1, ... at `rate` per second for `seconds`; resolves with how many were sent. */
function paced(rate: number, seconds: number, send: (index: number) => void): Promise<number> {
  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) send(sent++);
      if (sent < total) setTimeout(tick, 1);
      else resolve(sent);
    };
    tick();
  });
}

/** Resolves when `done()` returns true, checking every few milliseconds, or after `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

let swarm: SimulatedSwarm | undefined;

async function onDemand(
  port: number,
  rate: number,
  seconds: number,
  credentials: Credentials,
): Promise<OnDemandSamples> {
  if (!swarm) throw new Error("start the swarm first");
  const holds = swarm.holds;
  const pool = new ConnectionPool(port);
  const result: OnDemandSamples = {
    overheadMs: [],
    toWorkerMs: [],
    toServiceMs: [],
    winnerMs: [],
    solved: [],
    failures: 0,
  };
  const failures = new FailureCount();
  let answered = 0;
  const sent = await paced(rate, seconds, () => {
    const hash = randomBytes(32).toString("hex").toUpperCase();
    const raw = encodePost(port, "/service/", requestBody(credentials, hash));
    const began = performance.now();
    pool.request(raw).then(
      ({ status, body }) => {
        const now = performance.now();
        answered += 1;
        const work = status === 200 ? (JSON.parse(body) as { work?: string }).work : undefined;
        const hold = work === undefined ? undefined : holds.get(holdKey(hash, work));
        if (hold === undefined) return failures.add(`HTTP ${status}: ${body}`);
        const toWorker = hold.receivedAt - began;
        const toService = now - hold.publishedAt;
        result.overheadMs.push(toWorker + toService);
        result.toWorkerMs.push(toWorker);
        result.toServiceMs.push(toService);
        result.winnerMs.push(hold.publishedAt - hold.receivedAt);
        result.solved.push(hash);
      },
      (err: Error) => {
        answered += 1;
        failures.add(err.message);
      },
    );
  });
  await until(() => answered === sent, DRAIN_MS);
  pool.close();
  holds.clear();
  return { ...result, failures: failures.failures + (sent - answered), firstFailure: failures.firstFailure };
}

function openSockets(port: number, count: number): Promise<WebSocket[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/service_ws/`, { perMessageDeflate: false });
          ws.once("open", () => resolve(ws));
          ws.once("error", reject);
        }),
    ),
  );
}

/** Saturating: every socket keeps `window` requests in flight; counts the answers within `seconds`. */
async function wsThroughput(
  port: number,
  sockets: number,
  window: number,
  seconds: number,
  hits: CacheHits,
): Promise<ThroughputSamples> {
  const bodies = hits.hashes.map((hash) => requestBody(hits.credentials, hash));
  const all = await openSockets(port, sockets);
  const failures = new FailureCount();
  let answered = 0;
  let next = 0;
  let inFlight = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const send = (ws: WebSocket) => {
    inFlight += 1;
    ws.send(bodies[next++ % bodies.length] as string);
  };
  for (const ws of all) {
    ws.on("message", (data: Buffer) => {
      inFlight -= 1;
      const text = data.toString();
      if (isWork(text)) answered += 1;
      else failures.add(text);
      if (performance.now() < end) send(ws);
    });
    for (let i = 0; i < window; i++) send(ws);
  }
  await until(() => performance.now() >= end, seconds * 1000 + 1000);
  const counted = answered;
  const elapsedMs = performance.now() - start;
  await until(() => inFlight === 0, DRAIN_MS);
  for (const ws of all) ws.close();
  return { answered: counted, elapsedMs, ...failures };
}

/** Open loop: requests sent at `rate` per second whatever the answers do; the latency of each. */
async function wsLatency(
  port: number,
  sockets: number,
  rate: number,
  seconds: number,
  hits: CacheHits,
): Promise<LatencySamples> {
  const { credentials, hashes } = hits;
  const all = await openSockets(port, sockets);
  const failures = new FailureCount();
  const sentAt: number[] = [];
  const latencyMs: number[] = [];
  let answered = 0;
  for (const ws of all) {
    ws.on("message", (data: Buffer) => {
      const now = performance.now();
      answered += 1;
      const answer = JSON.parse(data.toString()) as { work?: string; id?: number };
      const began = answer.id === undefined ? undefined : sentAt[answer.id];
      if (answer.work === undefined || began === undefined) return failures.add(data.toString());
      latencyMs.push(now - began);
    });
  }
  const sent = await paced(rate, seconds, (i) => {
    sentAt[i] = performance.now();
    (all[i % all.length] as WebSocket).send(requestBody(credentials, hashes[i % hashes.length] as string, i));
  });
  await until(() => answered === sent, DRAIN_MS);
  for (const ws of all) ws.close();
  failures.failures += sent - answered;
  return { latencyMs, ...failures };
}

/** Saturating: `connections` keep-alive connections, each sending its next request on an answer. */
async function httpThroughput(
  port: number,
  connections: number,
  seconds: number,
  hits: CacheHits,
): Promise<ThroughputSamples> {
  const raws = hits.hashes.map((hash) => encodePost(port, "/service/", requestBody(hits.credentials, hash)));
  const all = await Promise.all(Array.from({ length: connections }, () => KeepAliveConnection.open(port)));
  const failures = new FailureCount();
  let answered = 0;
  let next = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    all.map(async (connection) => {
      while (performance.now() < end) {
        const { status, body } = await connection.request(raws[next++ % raws.length] as Buffer);
        if (status === 200 && isWork(body)) answered += 1;
        else failures.add(`HTTP ${status}: ${body}`);
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  for (const connection of all) connection.close();
  return { answered, elapsedMs, ...failures };
}

async function handle(command: LoadCommand): Promise<unknown> {
  switch (command.kind) {
    case "swarm":
      // A new swarm replaces the old one (the scale benchmark moves one from the hub to its floor).
      await swarm?.close();
      swarm = await SimulatedSwarm.connect(command);
      return null;
    case "ondemand":
      return onDemand(command.port, command.rate, command.seconds, command.credentials);
    case "ws-throughput":
      return wsThroughput(command.port, command.sockets, command.window, command.seconds, command);
    case "ws-latency":
      return wsLatency(command.port, command.sockets, command.rate, command.seconds, command);
    case "http-throughput":
      return httpThroughput(command.port, command.connections, command.seconds, command);
    case "close":
      await swarm?.close();
      swarm = undefined;
      process.disconnect?.();
      return null;
  }
}

process.on("message", (command: LoadCommand) => {
  const cpu = process.cpuUsage();
  const began = performance.now();
  handle(command).then(
    (result) => {
      const used = process.cpuUsage(cpu);
      const loadCpuPercent = (used.user + used.system) / 10 / (performance.now() - began);
      if (process.connected)
        process.send?.({ ok: true, result: { ...(result as object), loadCpuPercent } } satisfies LoadReply);
    },
    (err: unknown) =>
      process.send?.({
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      } satisfies LoadReply),
  );
});
