import { type ChildProcess, spawn } from "node:child_process";

export interface DaemonSpec {
  /** For error messages: "mosquitto", "redis-server", ... */
  name: string;
  command: string;
  args: string[];
  /** A line of its output (stdout or stderr) that says it is ready. */
  ready: RegExp;
  /** How long it may take to say so. Default 15 s. */
  timeoutMs?: number;
}

/**
 * Starts a server process and resolves once its output matches `spec.ready`; rejects with its
 * output if it exits first or stays silent past the timeout (then it is killed).
 */
export function startDaemon(spec: DaemonSpec): Promise<ChildProcess> {
  const timeoutMs = spec.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const child = spawn(spec.command, spec.args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${spec.name} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (spec.ready.test(output)) {
        clearTimeout(timer);
        child.removeListener("exit", onExit);
        child.stdout?.removeAllListeners("data");
        child.stderr?.removeAllListeners("data");
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited with code ${code}:\n${output}`));
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} could not be started: ${err.message}`));
    });
  });
}

/** Sends `signal` to a daemon started by {@link startDaemon} (by its pid) and waits for it to exit. */
export async function stopDaemon(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}
