/**
 * The process's open-file limit (the soft RLIMIT_NOFILE), which bounds its sockets. Node has no
 * getrlimit: Linux shows the limit in /proc/self/limits; elsewhere a shell started from this process
 * inherits it and `ulimit -n` tells it.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** The limit, or null when it is unlimited or cannot be read. */
export function openFileLimit(): number | null {
  return fromProcLimits() ?? fromShell();
}

function fromProcLimits(): number | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    return parseLimit(line?.slice("Max open files".length).trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

function fromShell(): number | null {
  try {
    return parseLimit(execFileSync("/bin/sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  } catch {
    return null;
  }
}

function parseLimit(text: string | undefined): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : null;
}
