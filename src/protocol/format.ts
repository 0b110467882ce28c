/** Human-readable rates and durations for log lines and the status line. */
import { formatU64 } from "../nano/hex.js";
import { expectedSeconds } from "../pow/benchmark.js";

export function formatHashRate(hashesPerSecond: number): string {
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"];
  let value = hashesPerSecond;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/** A share of the payout period (0..1) as a percentage with enough digits to see a small one move. */
export function formatShare(share: number): string {
  const percent = share * 100;
  return `${percent.toFixed(percent >= 10 ? 1 : percent >= 1 ? 2 : 3)}%`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 0.0005) return "<1 ms";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The line a volunteer reads when the hub's first job at `difficulty` arrives: the start-up line
 * can only speak of the live thresholds, since the hub's difficulty is known once it sends a job.
 */
export function hubDifficultyNote(difficulty: bigint, hashRate: number | null): string {
  const hub = `hub difficulty ${formatU64(difficulty)}`;
  if (hashRate === null)
    return `${hub}: expected time per job unknown until this backend's speed is measured`;
  const seconds = formatDuration(expectedSeconds(difficulty, hashRate));
  return `${hub}: expected ~${seconds} per job at ~${formatHashRate(hashRate)}`;
}
