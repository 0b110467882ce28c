import type { Logger } from "pino";
import type { HubMetrics } from "../metrics.js";
import type { PayoutPeriod, RollupStore } from "../ports.js";
import { DashboardFigures, type FigureSources } from "./figures.js";
import { LIVE_LIMITS, LiveFeed, type LiveLimits } from "./live-feed.js";
import { PublicApi } from "./public-api.js";
import { RECORDER_DEFAULTS, RollupRecorder } from "./recorder.js";

/** What the operator sets of the dashboard (`dpow server` flags). */
export interface DashboardSettings {
  /** This replica's name in the rollup rows (replicas sharing a database each write their own). */
  replica: string;
  /** Minute rollups are kept this long; the 30-day chart needs 30 days. */
  keepMs: number;
  /** LIVE_LIMITS, with these replaced. */
  live?: Partial<LiveLimits>;
  /** How often counts are written to the rollups (RECORDER_DEFAULTS.flushMs without it). */
  flushMs?: number;
}

/** The stores the dashboard reads and writes; their owner (launch) closes them. */
export interface DashboardStores {
  rollups: RollupStore;
  period?: PayoutPeriod;
}

export interface RunningDashboard {
  api: PublicApi;
  /** Ends the live feed and writes the counts not written yet. */
  close(): Promise<void>;
}

export function startDashboard(
  settings: DashboardSettings & DashboardStores,
  hub: Omit<FigureSources, "rollups" | "period"> & { metrics: HubMetrics; logger: Logger },
): RunningDashboard {
  const logger = hub.logger.child({ component: "dashboard" });
  const recorder = new RollupRecorder(
    settings.rollups,
    {
      replica: settings.replica,
      keepMs: settings.keepMs,
      flushMs: settings.flushMs ?? RECORDER_DEFAULTS.flushMs,
    },
    logger,
  );
  hub.metrics.onRequest(recorder.count);
  recorder.start();
  const figures = new DashboardFigures({ ...hub, rollups: settings.rollups, period: settings.period });
  const live = new LiveFeed(figures.summary, { ...LIVE_LIMITS, ...settings.live }, logger);
  return {
    api: new PublicApi(figures, live, logger),
    close: async () => {
      live.close();
      await recorder.close();
    },
  };
}
