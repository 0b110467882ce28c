import type { Logger } from "pino";
import { MQTT_WEBSOCKET_PATH } from "../protocol/topics.js";
import { Accounting } from "./accounting.js";
import { type AnnouncementOptions, Announcements, DEFAULT_ANNOUNCEMENTS } from "./announcements.js";
import { type DashboardSettings, type DashboardStores, startDashboard } from "./dashboard/index.js";
import type { DifficultyPolicy } from "./difficulty-policy.js";
import { HttpFront, type HttpFrontSettings } from "./http-front.js";
import { HubMetrics, type RefusalCounts } from "./metrics.js";
import { PeriodShares } from "./period-shares.js";
import type { Broker, Coordinator, Ledger, PayoutPeriod } from "./ports.js";
import type { PrecacheContext, RunningPrecache } from "./precache/index.js";
import { RateLimiter } from "./rate-limiter.js";
import { type RequestDeps, ServiceApi } from "./service-api.js";
import { ServiceCounters } from "./service-counters.js";
import { ServiceDirectory } from "./service-directory.js";
import { WebPages } from "./web-pages.js";
import { WorkFlow } from "./work-flow.js";
import { WorkPeerServer, type WorkPeerSettings } from "./work-peer.js";
import { DEFAULT_PENALTIES, type PenaltyOptions, WorkerPenalties } from "./worker-penalties.js";

/** The broker as the hub uses it: the port, plus what the embedded broker adds. */
export interface HubBroker {
  broker: Broker;
  /** Serves MQTT over WebSocket on the hub's HTTP server (embedded broker only). */
  attachWebSocket?: (server: HttpFront["server"], path: string) => void;
  clientCount?: () => number;
  /** Refused MQTT connections and logins so far (embedded broker only). */
  refusals?: () => RefusalCounts["counts"];
}

export interface HubOptions {
  port: number;
  host: string;
  broker: HubBroker;
  coordinator: Coordinator;
  ledger: Ledger;
  policy: DifficultyPolicy;
  /** Per-client limits and the status of service answers (defaults: HTTP_LIMITS, always 200). */
  http?: HttpFrontSettings;
  logger: Logger;
  penalties?: PenaltyOptions;
  announcements?: AnnouncementOptions;
  /** How long a timed-out job stays open for a retry (defaults: HUB_DEFAULTS). */
  jobGraceMs?: number;
  /** How long shutdown waits for in-flight requests before failing them. */
  drainMs?: number;
  /** Starts precache on the hub's work flow (see startPrecache); off without it. */
  precache?: (context: PrecacheContext) => RunningPrecache;
  /** A Nano node's work peer listener (see work-peer.ts); off without it. */
  workPeer?: WorkPeerSettings;
  /** The dashboard's public JSON, live feed and history (`/api/v1/`); off (404) without it. */
  dashboard?: DashboardSettings & DashboardStores;
  /** The payout period, for each worker's share in its `client/` messages; no share without it. */
  payoutPeriod?: PayoutPeriod;
}

export interface Hub {
  /** The bound HTTP port. */
  port: number;
  /** The work peer listener's bound port, when it is on. */
  workPeerPort?: number;
  /** The work flow, for features that feed it (precache). */
  flow: WorkFlow;
  /** Stops accepting, answers or fails what is in flight, flushes counters. Leaves broker and storage open (their owner closes them). */
  close(): Promise<void>;
}

/** What the hub takes where an option is not given (`dpow server`'s flags show these). */
export const HUB_DEFAULTS = {
  port: 5030,
  host: "127.0.0.1",
  penalties: DEFAULT_PENALTIES,
  announcements: DEFAULT_ANNOUNCEMENTS,
  jobGraceMs: 10_000,
  drainMs: 2000,
} satisfies Required<
  Pick<HubOptions, "port" | "host" | "penalties" | "announcements" | "jobGraceMs" | "drainMs">
>;

/** Starts the hub's logic and its HTTP front on top of a broker, a coordinator and a ledger. */
export async function startHub(options: HubOptions): Promise<Hub> {
  const { broker, coordinator, ledger, policy, logger } = options;
  let flow: WorkFlow | undefined;
  const metrics = new HubMetrics({
    workersConnected: options.broker.clientCount ?? (() => 0),
    openJobs: () => coordinator.openJobCount(),
    waitingRequests: () => flow?.waitingCount() ?? 0,
  });
  const brokerRefusals = options.broker.refusals;
  if (brokerRefusals) metrics.countRefusals(() => ({ listener: "mqtt", counts: brokerRefusals() }));
  const counters = new ServiceCounters(ledger);
  const penalties = new WorkerPenalties(options.penalties ?? HUB_DEFAULTS.penalties);
  const shares = options.payoutPeriod && new PeriodShares(options.payoutPeriod, logger);
  await shares?.start();
  const accounting = new Accounting(ledger, broker.broker, logger, shares);
  flow = new WorkFlow({
    broker: broker.broker,
    coordinator,
    accounting,
    penalties,
    metrics,
    logger,
    options: { jobGraceMs: options.jobGraceMs ?? HUB_DEFAULTS.jobGraceMs, minDifficulty: policy.receive },
  });
  const precache = options.precache?.({ flow, coordinator, metrics, logger });
  // One rate limiter for both fronts: a service's rate holds whichever way it asks.
  const requests: RequestDeps = {
    limiter: new RateLimiter(),
    policy,
    flow,
    counters,
    metrics,
    logger,
    precache,
  };
  const workPeer = options.workPeer && new WorkPeerServer(options.workPeer, { ...requests, ledger });
  const api = new ServiceApi({ ...requests, directory: new ServiceDirectory(ledger) });
  const dashboard =
    options.dashboard &&
    startDashboard(options.dashboard, {
      startedAt: Date.now(),
      base: policy.base,
      workersConnected: options.broker.clientCount ?? (() => 0),
      openJobs: () => coordinator.openJobCount(),
      ledger,
      metrics,
      logger,
    });
  const front = new HttpFront({
    api,
    precache,
    metrics,
    logger,
    pages: new WebPages(),
    publicApi: dashboard?.api,
    foreignUpgradePaths: broker.attachWebSocket ? [MQTT_WEBSOCKET_PATH, `${MQTT_WEBSOCKET_PATH}/`] : [],
    ...options.http,
  });
  broker.attachWebSocket?.(front.server, MQTT_WEBSOCKET_PATH);
  const announcements = new Announcements(
    broker.broker,
    ledger,
    counters,
    logger,
    options.announcements ?? HUB_DEFAULTS.announcements,
  );

  await flow.start();
  const port = await front.listen(options.port, options.host);
  const workPeerPort = await workPeer?.listen().catch((err: unknown) => {
    front.stopAccepting();
    front.closeConnections();
    void flow.close();
    void dashboard?.close();
    throw err;
  });
  await announcements.start();

  let closing: Promise<void> | undefined;
  const close = async () => {
    front.stopAccepting();
    workPeer?.stopAccepting();
    announcements.stop();
    const dashboardClosed = dashboard?.close();
    shares?.stop();
    precache?.close();
    const drained = Promise.all([front.drain(), workPeer?.drain()]);
    const deadline = new Promise((resolve) =>
      setTimeout(resolve, options.drainMs ?? HUB_DEFAULTS.drainMs).unref(),
    );
    await Promise.race([drained, deadline]);
    await Promise.all([flow.close(), drained]);
    front.closeConnections();
    workPeer?.closeConnections();
    await Promise.all([counters.flush(), dashboardClosed]);
  };
  return {
    port,
    workPeerPort,
    flow,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
