import type { Command } from "commander";
import { parseAllowList, WORK_PEER_DEFAULTS, type WorkPeerSettings } from "../hub/work-peer.js";
import { UsageError } from "./output.js";

export interface WorkPeerFlags {
  workPeer?: string;
  workPeerService?: string;
  workPeerAllow?: string;
}

/** The work peer flags of `dpow server`. */
export function addWorkPeerFlags(command: Command): Command {
  return command
    .option(
      "--work-peer <[host:]port>",
      "also serve Nano nodes as a work peer (node.work_peers) on this port; off by default",
    )
    .option(
      "--work-peer-service <name>",
      `service the work peer's requests count as (registered if new; default ${WORK_PEER_DEFAULTS.service})`,
    )
    .option(
      "--work-peer-allow <list>",
      `source addresses or CIDR ranges the work peer serves, comma separated (default ${WORK_PEER_DEFAULTS.allow.join(",")})`,
    );
}

/** `--work-peer [HOST:]PORT` (HOST defaults to `host`) with its service and allow list; undefined when off. */
export function workPeerSettings(opts: WorkPeerFlags, host: string): WorkPeerSettings | undefined {
  if (opts.workPeer === undefined) {
    if (opts.workPeerService !== undefined || opts.workPeerAllow !== undefined)
      throw new UsageError("--work-peer-service and --work-peer-allow need --work-peer [HOST:]PORT");
    return undefined;
  }
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(opts.workPeer);
  const port = Number(match?.[2]);
  if (!match || !(Number.isInteger(port) && port <= 65535)) {
    throw new UsageError(
      `--work-peer must be PORT or HOST:PORT with a port from 0 to 65535 (e.g. 127.0.0.1:7076), got "${opts.workPeer}"`,
    );
  }
  const allow = (opts.workPeerAllow?.split(",") ?? [...WORK_PEER_DEFAULTS.allow]).filter(
    (e) => e.trim() !== "",
  );
  try {
    parseAllowList(allow);
  } catch (err) {
    throw new UsageError(`--work-peer-allow: ${(err as Error).message}`);
  }
  const service = opts.workPeerService ?? WORK_PEER_DEFAULTS.service;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(service)) {
    throw new UsageError(
      `--work-peer-service must be 1 to 64 letters, digits, "_", "." or "-", got "${service}"`,
    );
  }
  return { host: match[1]?.replace(/^\[|\]$/g, "") ?? host, port, service, allow };
}
