/**
 * What a volunteer sees: on a terminal, log lines scrolling above a live status line; otherwise
 * plain timestamped lines (for systemd, Docker, files); or JSON lines (pino) for log collectors.
 */
import { pino } from "pino";
import { formatU64 } from "../nano/hex.js";
import { formatDuration, formatHashRate, formatShare } from "../protocol/format.js";
import type { WorkerLog, WorkerStatus } from "../protocol/worker-session.js";

/** The one-line summary shown at the bottom of a terminal. */
export function formatStatusLine(status: WorkerStatus, now: number): string {
  const hub =
    status.connection !== "connected"
      ? `broker ${status.connection === "stopped" ? "disconnected" : "offline, reconnecting"}`
      : status.hubOnline
        ? "hub online"
        : "hub OFFLINE (no heartbeat)";
  const parts = [
    hub,
    status.hashRate === null ? "rate ?" : `~${formatHashRate(status.hashRate)}`,
    `done ${status.done}`,
    `accepted ${status.accepted}`,
    `cancelled ${status.cancelled}`,
  ];
  if (status.failed > 0) parts.push(`failed ${status.failed}`);
  if (status.credits)
    parts.push(`credits ${status.credits.ondemand} on-demand/${status.credits.precache} precache`);
  if (status.share !== null) parts.push(`share ${formatShare(status.share)}`);
  if (status.lastReward) parts.push(`last reward ${formatDuration((now - status.lastReward.at) / 1000)} ago`);
  parts.push(`queue ${status.queued}`);
  parts.push(
    status.active ? `working on ${status.active.hash.slice(0, 8)}… (${status.active.type})` : "idle",
  );
  // Last, so a narrow terminal cuts it first (StatusLine trims the end).
  if (status.hubDifficulty !== null) parts.push(`difficulty ${formatU64(status.hubDifficulty)}`);
  return parts.join(" | ");
}

type Level = "info" | "warn" | "error";

/** A WorkerLog writing `time LEVEL message` lines; `write` decides where they go. */
function lineLog(write: (level: Level, line: string) => void): WorkerLog {
  const at = (level: Level) => (_fields: object, msg: string) =>
    write(level, `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}`);
  return { info: at("info"), warn: at("warn"), error: at("error") };
}

/** Plain lines: info on stdout, warnings and errors on stderr. */
export function plainLog(): WorkerLog {
  return lineLog((level, line) => (level === "info" ? process.stdout : process.stderr).write(`${line}\n`));
}

/** JSON lines on stdout, one object per event, fields included. */
export function jsonLog(): WorkerLog {
  return pino({ base: { app: "dpow-worker" } }, pino.destination({ sync: true }));
}

/**
 * A status line redrawn in place at the bottom of a terminal, with log lines printed above it.
 * The line is cut to the terminal width so it never wraps (a wrapped line cannot be redrawn).
 */
export class StatusLine {
  private current = "";

  constructor(private readonly out: NodeJS.WriteStream) {}

  readonly log: WorkerLog = lineLog((_level, line) => {
    this.out.write(`\r\x1b[2K${line}\n${this.current}`);
  });

  update(line: string): void {
    const width = Math.max(20, (this.out.columns || 120) - 1);
    this.current = line.length > width ? `${line.slice(0, width - 1)}…` : line;
    this.out.write(`\r\x1b[2K${this.current}`);
  }

  /** Leaves the last status on screen and moves to a fresh line. */
  end(): void {
    if (this.current) this.out.write("\n");
    this.current = "";
  }
}
