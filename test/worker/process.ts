/**
 * A long-running `dpow` process (worker, server) started the way a user starts it, whose output a
 * test can wait on line by line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { DPOW_BIN } from "../helpers/cli.js";
import { waitUntil } from "./helpers.js";

export class DpowProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    let pending = "";
    const onData = (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      this.lines.push(...parts);
      for (const listener of this.listeners) listener();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        for (const listener of this.listeners) listener();
        resolve({ code, signal });
      });
    });
  }

  static start(args: string[], env: NodeJS.ProcessEnv = {}): DpowProcess {
    const child = spawn(process.execPath, [DPOW_BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    return new DpowProcess(child);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Waits for the `nth` line (1-based) matching `pattern` among the lines from index `since` on
   * (`lines.length` taken before an action: what it caused, not what a stall printed earlier);
   * fails early, with the output, if the process exits.
   */
  waitForLine(pattern: RegExp, nth = 1, timeoutMs = 20_000, since = 0): Promise<string> {
    return waitUntil(
      `line ${nth} matching ${pattern}`,
      () => {
        const matches = this.lines.slice(since).filter((line) => pattern.test(line));
        if (matches.length >= nth) return matches[nth - 1];
        if (!this.running) throw new Error(`dpow exited before printing ${pattern}:\n${this.output()}`);
        return undefined;
      },
      (wake) => {
        this.listeners.add(wake);
        return () => this.listeners.delete(wake);
      },
      timeoutMs,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\noutput so far:\n${this.output()}`);
    });
  }

  output(): string {
    return this.lines.join("\n");
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
