import pino, { type Logger } from "pino";
import { CodedError } from "../errors.js";
import { createBackend } from "../pow/create-backend.js";
import type { SqliteSync } from "../sql/sqlite.js";
import { type RunningWorker, startWorker } from "../worker/index.js";
import { jobsAtLeastOnce } from "./broker/delivery.js";
import { BROKER_DEFAULTS, PortInUseError, startEmbeddedBroker } from "./broker/embedded.js";
import { connectExternalBroker } from "./broker/mqtt-client.js";
import { SESSION_DEFAULTS } from "./broker/sessions.js";
import { FAN_OUT_DEFAULTS, type FanOutOptions } from "./broker/subset-fan-out.js";
import { MemoryCoordinator } from "./coordinator/memory.js";
import { RedisCoordinator } from "./coordinator/redis.js";
import type { DashboardSettings } from "./dashboard/index.js";
import { openRollupStore } from "./dashboard/open.js";
import { DifficultyPolicy, type OutOfRange } from "./difficulty-policy.js";
import type { HttpFrontSettings } from "./http-front.js";
import { type HubBroker, startHub } from "./hub.js";
import { type LedgerLocation, openLedger } from "./ledger/open.js";
import type { Broker, Coordinator, PayoutPeriod } from "./ports.js";
import {
  type PrecacheContext,
  type PrecacheSettings,
  type RunningPrecache,
  startPrecache,
  withPrecache,
} from "./precache/index.js";
import { WorkPeerListenError, type WorkPeerSettings } from "./work-peer.js";
import type { PenaltyOptions } from "./worker-penalties.js";

export interface ServerConfig {
  port: number;
  host: string;
  mqttPort: number;
  /** Serve a Nano node as its work peer (node.work_peers) on a listener of its own; off without it. */
  workPeer?: WorkPeerSettings;
  db: string;
  /** Whether the SQLite ledger fsyncs every commit ("full") or not ("normal", the default). */
  sync?: SqliteSync;
  base: bigint;
  maxMultiplier: number;
  /** Requests below the receive threshold: raised with a hint (default) or refused; above max: refused. */
  outOfRange?: OutOfRange;
  /** Per-client limits and the status of service answers (see HttpFront). */
  http?: HttpFrontSettings;
  /** Precache from a Nano node's confirmations; off without it. */
  precache?: PrecacheSettings;
  /** An external broker (as `dpowserver`) instead of the embedded one. */
  mqttUrl?: string;
  /** Redis shared by hub replicas (coordinator: jobs, win locks, work cache), in place of memory. */
  redis?: { url: string; prefix?: string };
  /** PostgreSQL shared by hub replicas (ledger), in place of the SQLite file `db`. */
  postgresUrl?: string;
  clientPassword: string;
  interfacePassword?: string;
  /** Password of the embedded broker's `dpowserver` account; random per start without one. */
  serverPassword?: string;
  /** Invalid results per MQTT connection before it is dropped, and the cool-down; defaults without. */
  penalties?: PenaltyOptions;
  /** The embedded broker's sessions and limits; its defaults without. */
  mqtt?: MqttSettings;
  /** Run a one-thread CPU worker in this process, crediting this payout address. */
  localWorker?: { payout: string };
  /** The dashboard's history and live feed (`/api/v1/`); off without it. */
  dashboard?: DashboardSettings;
  /**
   * Opens the payout period (the payouts module's, handed in by the CLI: the hub does not depend on
   * payouts), which the dashboard shows and each worker's share in its `client/` messages comes
   * from; without it there is neither.
   */
  openPayoutPeriod?: (where: LedgerLocation) => Promise<PayoutPeriod>;
  logger: Logger;
}

/** Persistent sessions and per-address limits of the embedded MQTT broker. */
export interface MqttSettings {
  /** SQLite file keeping persistent sessions across restarts; null keeps them in memory. */
  sessionsFile: string | null;
  sessionExpiryMs: number;
  maxSessions: number;
  queueLimit: number;
  /** 0 = no cap. */
  maxConnectionsPerIp: number;
  /** All MQTT connections; 0 = no cap; undefined: from the open-file limit (defaultMaxConnections). */
  maxConnections?: number;
  /**
   * QoS of `work/` and `cancel/`: 1 queues them for offline persistent sessions, at the price of a
   * PUBACK per delivery (about 10-15% more hub CPU per job with 100 workers, measured); 0 sends
   * them once, as the original did.
   */
  jobQos: 0 | 1;
  /** Subset fan-out of jobs (embedded broker only; an external broker broadcasts). */
  fanOut?: FanOutOptions;
}

/** The broker settings where a flag is not given (`dpow server`'s flags show these). */
export const MQTT_DEFAULTS = {
  sessionExpiryMs: SESSION_DEFAULTS.expiryMs,
  maxSessions: SESSION_DEFAULTS.maxSessions,
  queueLimit: SESSION_DEFAULTS.queueLimit,
  maxConnectionsPerIp: BROKER_DEFAULTS.maxConnectionsPerIp,
  jobQos: 1,
  fanOut: FAN_OUT_DEFAULTS,
} satisfies Omit<MqttSettings, "sessionsFile">;

export interface RunningServer {
  httpPort: number;
  /** The embedded broker's TCP port; null with an external broker. */
  mqttPort: number | null;
  /** The work peer listener's port; null when it is off. */
  workPeerPort: number | null;
  close(): Promise<void>;
}

/** A port was taken; `which` says which one, so the CLI can name its flag. */
export class PortTakenError extends CodedError {
  override name = "PortTakenError";
  constructor(
    readonly which: "http" | "mqtt" | "work-peer",
    readonly port: number,
  ) {
    super(
      "DPOW_PORT_TAKEN",
      `${which === "http" ? "HTTP" : which === "mqtt" ? "MQTT" : "work peer"} port ${port} is already in use`,
    );
  }
}

export function createLogger(level: string): Logger {
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * Everything `dpow server` runs, assembled: broker (embedded or external), coordinator (memory or
 * Redis), ledger (SQLite or Postgres), the hub, and optionally a local worker. close() stops them
 * in reverse order.
 */
export async function launchServer(config: ServerConfig): Promise<RunningServer> {
  const { logger } = config;
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    const ledger = await openLedger({ ...config, checkpoints: "thread" });
    closers.push(() => ledger.close());
    const { coordinator, precache } = await openCoordinator(config);
    closers.push(() => coordinator.close());
    // An in-memory ledger has no payouts: no period to show or to share out.
    const inMemory = config.postgresUrl === undefined && config.db === ":memory:";
    const payoutPeriod = inMemory ? undefined : await config.openPayoutPeriod?.(config);
    if (payoutPeriod) closers.push(() => payoutPeriod.close());
    const { hubBroker, mqttPort, close: closeBroker } = await openBroker(config);
    closers.push(closeBroker);
    const dashboard =
      config.dashboard && (await openDashboardStores(config, config.dashboard, payoutPeriod, closers));
    const hub = await startHub({
      port: config.port,
      host: config.host,
      workPeer: config.workPeer,
      broker: hubBroker,
      coordinator,
      ledger,
      policy: new DifficultyPolicy(config.base, config.maxMultiplier, config.outOfRange),
      http: config.http,
      logger,
      precache,
      penalties: config.penalties,
      dashboard,
      payoutPeriod,
    }).catch((err: NodeJS.ErrnoException) => {
      if (err instanceof WorkPeerListenError && err.errno === "EADDRINUSE")
        throw new PortTakenError("work-peer", err.port);
      throw err.code === "EADDRINUSE" ? new PortTakenError("http", config.port) : err;
    });
    closers.push(() => hub.close());
    if (config.localWorker && mqttPort !== null) {
      const worker = await startLocalWorker(config, mqttPort, config.localWorker.payout);
      closers.push(() => worker.stop());
    }
    return { httpPort: hub.port, mqttPort, workPeerPort: hub.workPeerPort ?? null, close: closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The rollup store beside the ledger, and the payout period the dashboard shows. */
async function openDashboardStores(
  config: ServerConfig,
  settings: DashboardSettings,
  period: PayoutPeriod | undefined,
  closers: Array<() => Promise<void>>,
) {
  const rollups = await openRollupStore({ ...config, checkpoints: "thread" });
  closers.push(() => rollups.close());
  return { ...settings, rollups, period };
}

/**
 * The in-memory coordinator (made persistent in the SQLite file when precache is on), or the Redis
 * one replicas share. Redis keeps frontiers and work across restarts itself: restoring a replica's
 * local copy over it would bring back stale frontiers, so precache runs on it directly.
 */
async function openCoordinator(config: ServerConfig): Promise<{
  coordinator: Coordinator;
  precache?: (context: PrecacheContext) => RunningPrecache;
}> {
  const settings = config.precache;
  if (config.redis === undefined) {
    const memory = new MemoryCoordinator({
      frontierLimit: settings?.frontierLimit,
      frontierTtlMs: settings?.frontierTtlMs,
    });
    return withPrecache(settings, config.db, memory);
  }
  const coordinator = await RedisCoordinator.connect(config.redis.url, {
    prefix: config.redis.prefix,
    frontierTtlMs: settings?.frontierTtlMs,
  });
  return { coordinator, precache: settings && ((context) => startPrecache(settings, context)) };
}

async function openBroker(
  config: ServerConfig,
): Promise<{ hubBroker: HubBroker; mqttPort: number | null; close: () => Promise<void> }> {
  const brokerLogger = config.logger.child({ component: "broker" });
  const jobs = (broker: Broker) => (config.mqtt?.jobQos === 0 ? broker : jobsAtLeastOnce(broker));
  if (config.mqttUrl !== undefined) {
    const broker: Broker = await connectExternalBroker(config.mqttUrl, { logger: brokerLogger });
    return { hubBroker: { broker: jobs(broker) }, mqttPort: null, close: () => broker.close() };
  }
  const embedded = await startEmbeddedBroker({
    mqttPort: config.mqttPort,
    host: config.host,
    clientPassword: config.clientPassword,
    interfacePassword: config.interfacePassword,
    serverPassword: config.serverPassword,
    sessions: config.mqtt && {
      file: config.mqtt.sessionsFile,
      expiryMs: config.mqtt.sessionExpiryMs,
      maxSessions: config.mqtt.maxSessions,
      queueLimit: config.mqtt.queueLimit,
    },
    maxConnectionsPerIp: config.mqtt?.maxConnectionsPerIp,
    maxConnections: config.mqtt?.maxConnections,
    fanOut: config.mqtt?.fanOut,
    logger: brokerLogger,
  }).catch((err: unknown) => {
    throw err instanceof PortInUseError ? new PortTakenError("mqtt", config.mqttPort) : err;
  });
  return {
    hubBroker: {
      broker: jobs(embedded.hub),
      attachWebSocket: (server, path) => embedded.attachWebSocket(server, path),
      clientCount: () => embedded.clientCount(),
      refusals: () => embedded.refusals(),
    },
    mqttPort: embedded.port,
    close: async () => {
      await embedded.hub.close();
      await embedded.close();
    },
  };
}

const LOCAL_WORKER_READY_MS = 10_000;

/**
 * A one-thread CPU worker in this process: the real worker client, over the real broker. Resolves
 * once it takes jobs (connected, subscribed, hub heartbeat seen), so a request made right after
 * start-up is not broadcast before the worker listens.
 */
async function startLocalWorker(
  config: ServerConfig,
  mqttPort: number,
  payout: string,
): Promise<RunningWorker> {
  const host = config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host;
  const password = encodeURIComponent(config.clientPassword);
  const worker = await startWorker({
    payout,
    server: `mqtt://client:${password}@${host.includes(":") ? `[${host}]` : host}:${mqttPort}`,
    backend: await createBackend("cpu", { threads: 1 }),
    // One id for every start: a restart resumes its session on the (persistent) broker instead of leaving one behind.
    clientId: "dpow-local-worker",
    log: config.logger.child({ component: "local-worker" }),
  });
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => done(false), LOCAL_WORKER_READY_MS);
    const check = () => {
      if (worker.status().hubOnline) done(true);
    };
    const unsubscribe = worker.onStatus(check);
    function done(ok: boolean) {
      clearTimeout(timer);
      unsubscribe();
      resolve(ok);
    }
    check();
  });
  if (!ready)
    config.logger.warn("the local worker is not taking jobs yet; requests may time out until it does");
  return worker;
}
