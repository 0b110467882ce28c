import { hostname } from "node:os";
import type { Command } from "commander";
import type { DashboardSettings } from "../hub/dashboard/index.js";
import { LIVE_LIMITS } from "../hub/dashboard/live-feed.js";
import { UsageError } from "./output.js";
import { parseDuration } from "./precache-flags.js";

/** Flags of the dashboard (`dpow server`, `dpow start`). */
export interface DashboardFlags {
  history: string;
  replicaId?: string;
  liveViewers: string;
  liveViewersPerIp: string;
}

export function addDashboardFlags(command: Command): Command {
  return command
    .option(
      "--history <duration>",
      "keep the dashboard's per-minute history this long (the 30-day chart needs 30d)",
      "35d",
    )
    .option(
      "--replica-id <name>",
      "this hub's name in the dashboard's history rows, unique among replicas sharing a database (default: the host name)",
    )
    .option("--live-viewers <n>", "most dashboard live feeds open at once", String(LIVE_LIMITS.maxViewers))
    .option(
      "--live-viewers-per-ip <n>",
      "most dashboard live feeds open from one address",
      String(LIVE_LIMITS.maxViewersPerIp),
    );
}

function atLeastOne(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a whole number >= 1, got "${text}"`);
  return n;
}

export function dashboardSettings(flags: DashboardFlags): DashboardSettings {
  const replica = flags.replicaId ?? hostname();
  if (replica.length === 0 || replica.length > 100) {
    throw new UsageError(`--replica-id must be 1 to 100 characters, got "${replica}"`);
  }
  return {
    replica,
    keepMs: parseDuration(flags.history, "--history"),
    live: {
      maxViewers: atLeastOne(flags.liveViewers, "--live-viewers"),
      maxViewersPerIp: atLeastOne(flags.liveViewersPerIp, "--live-viewers-per-ip"),
    },
  };
}
