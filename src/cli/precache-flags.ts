import type { Command } from "commander";
import { PRECACHE_DEFAULTS, type PrecacheSettings } from "../hub/precache/index.js";
import { fromMultiplier } from "../nano/difficulty.js";
import { formatU64, parseU64 } from "../nano/hex.js";
import { UsageError } from "./output.js";

export interface PrecacheFlags {
  precache?: boolean;
  nodeWs?: string;
  precacheDifficulty?: string;
  frontierLimit?: string;
  frontierTtl?: string;
}

const UNITS_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const DEFAULT_FRONTIER_LIMIT = String(PRECACHE_DEFAULTS.frontierLimit);
const DEFAULT_FRONTIER_TTL = durationText(PRECACHE_DEFAULTS.frontierTtlMs);

/** The flags that mean nothing without --precache, by their option key. */
const PRECACHE_ONLY: Record<Exclude<keyof PrecacheFlags, "precache">, string> = {
  nodeWs: "--node-ws",
  precacheDifficulty: "--precache-difficulty",
  frontierLimit: "--frontier-limit",
  frontierTtl: "--frontier-ttl",
};

/** The precache flags of `dpow server`. */
export function addPrecacheFlags(command: Command): Command {
  return command
    .option(
      "--precache",
      "precompute the next block's work of every account using the hub, from a Nano node's confirmations",
    )
    .option(
      "--node-ws <url>",
      "the node's WebSocket, e.g. ws://[::1]:7078 (the node's HTTP callback can POST to /block/ instead)",
    )
    .option(
      "--precache-difficulty <hex>",
      "difficulty of precache work, 16 hex digits (default: the send base)",
    )
    .option("--frontier-limit <n>", `most accounts tracked for precache (default ${DEFAULT_FRONTIER_LIMIT})`)
    .option(
      "--frontier-ttl <duration>",
      `how long an account stays tracked after its last block (s, m, h or d; default ${DEFAULT_FRONTIER_TTL})`,
    );
}

/** Precache settings from the flags, or undefined when --precache is off. */
export function precacheSettings(
  flags: PrecacheFlags,
  base: bigint,
  maxMultiplier: number,
): PrecacheSettings | undefined {
  if (!flags.precache) {
    // No default fills these in (the defaults are applied below), so a given one is the user's.
    const given = Object.entries(PRECACHE_ONLY).filter(
      ([key]) => flags[key as keyof PrecacheFlags] !== undefined,
    );
    if (given.length > 0) {
      const names = given.map(([, flag]) => flag).join(", ");
      const verb = given.length > 1 ? "work" : "works";
      throw new UsageError(`${names} only ${verb} with --precache: add --precache (or drop ${names})`);
    }
    return undefined;
  }
  if (flags.nodeWs !== undefined && !/^wss?:\/\/./.test(flags.nodeWs)) {
    throw new UsageError(`--node-ws must be a ws:// or wss:// URL, got "${flags.nodeWs}"`);
  }
  const max = fromMultiplier(maxMultiplier, base);
  const difficulty =
    flags.precacheDifficulty === undefined
      ? base
      : parseU64(flags.precacheDifficulty, "--precache-difficulty");
  if (difficulty < base || difficulty > max) {
    throw new UsageError(
      `--precache-difficulty must be from the send base ${formatU64(base)} to ${formatU64(max)} (--max-multiplier ${maxMultiplier})`,
    );
  }
  const limitText = flags.frontierLimit ?? DEFAULT_FRONTIER_LIMIT;
  const frontierLimit = Number(limitText);
  if (!Number.isInteger(frontierLimit) || frontierLimit < 1) {
    throw new UsageError(`--frontier-limit must be a whole number >= 1, got "${limitText}"`);
  }
  const frontierTtlMs = parseDuration(flags.frontierTtl ?? DEFAULT_FRONTIER_TTL, "--frontier-ttl");
  return { nodeWs: flags.nodeWs, difficulty, frontierLimit, frontierTtlMs };
}

/** `ms` as parseDuration reads it, in the largest unit that divides it ("7d", "60s"). */
export function durationText(ms: number): string {
  const [unit, size] = Object.entries(UNITS_MS)
    .reverse()
    .find(([, size]) => ms % size === 0) ?? ["s", 1000];
  return `${ms / size}${unit}`;
}

/** "90", "90s", "15m", "12h" or "7d" in milliseconds (a bare number is seconds). */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * (UNITS_MS[match[2] || "s"] as number) : Number.NaN;
  if (!(ms >= 1000))
    throw new UsageError(
      `${flag} must be a duration of at least 1s, like 90s, 15m, 12h or 7d; got "${text}"`,
    );
  return ms;
}
