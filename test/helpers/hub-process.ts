import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { DPOW_BIN } from "./cli.js";

/** Expected 16 hashes per job: a fake worker in plain JS solves it in microseconds. */
export const TEST_DIFFICULTY = "f000000000000000";

export type LogLine = Record<string, unknown> & { msg?: string };

/** A `dpow server` process: the real CLI, on ephemeral ports, with a temporary database. */
export interface HubProcess {
  httpPort: number;
  mqttPort: number;
  db: string;
  child: ChildProcess;
  logs: LogLine[];
  stderr: string[];
  url(path: string): string;
  waitForLog(what: string, predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A temporary folder, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "dpow-hub-"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `server --port 0 --mqtt-port 0 --db DB --difficulty TEST_DIFFICULTY ...args` (unless args set the difficulty). */
export function serverArgs(db: string, args: string[] = []): string[] {
  const hasDifficulty = args.includes("--difficulty") || args.includes("--network");
  const difficulty = hasDifficulty ? [] : ["--difficulty", TEST_DIFFICULTY];
  return ["server", "--port", "0", "--mqtt-port", "0", "--db", db, ...difficulty, ...args];
}

/** Spawns `dpow` with {@link serverArgs} and waits for its "listening" log line, which names the ports it got. */
export async function spawnHub(
  db: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  /** Runs the hub under this open-file limit (`ulimit -n`, lowered in a shell that then execs it). */
  openFileLimit?: number,
): Promise<HubProcess> {
  const command = [process.execPath, DPOW_BIN, ...serverArgs(db, args)];
  const [file, ...argv] =
    openFileLimit === undefined
      ? command
      : ["/bin/sh", "-c", 'ulimit -n "$0" && exec "$@"', String(openFileLimit), ...command];
  const child = spawn(file as string, argv, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    try {
      logs.push(JSON.parse(line) as LogLine);
    } catch {
      logs.push({ msg: line });
    }
    for (const wake of waiters) wake();
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => stderr.push(line));

  const waitForLog = (what: string, predicate: (line: LogLine) => boolean, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (found) {
          done();
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`hub: no log line "${what}" within ${timeoutMs} ms; stderr: ${stderr.join("\n")}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      exited.then((code) => {
        done();
        reject(new Error(`hub exited (${code}) before "${what}"; stderr: ${stderr.join("\n")}`));
      });
      waiters.add(check);
      check();
    });

  const listening = await waitForLog("listening", (line) => line.msg === "listening").catch((err) => {
    // A hub that never said it listens is not handed back, so nobody else could stop it.
    child.kill("SIGKILL");
    throw err;
  });
  const httpPort = listening.http_port as number;
  return {
    httpPort,
    mqttPort: listening.mqtt_port as number,
    db,
    child,
    logs,
    stderr,
    url: (path) => `http://127.0.0.1:${httpPort}${path}`,
    waitForLog,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * POSTs a body (an object is sent as JSON) to `/service/`, on a connection of its own: a pooled
 * keep-alive connection can be closed by the server (its keep-alive timeout) just as the next
 * request goes out on it, which on a loaded machine fails a test for a reason that is not the hub's.
 */
export function postWork(
  hub: HubProcess,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: hub.httpPort,
        path: "/service/",
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          try {
            const json = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
            resolve({ status: res.statusCode ?? 0, json });
          } catch (err) {
            reject(err);
          }
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}

/** The value of one Prometheus sample, e.g. metric(hub, 'dpow_results_total{outcome="win"}'); 0 if absent. */
export async function metric(hub: HubProcess, sample: string): Promise<number> {
  const text = await (await fetch(hub.url("/metrics"))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/** Polls /metrics until `sample` satisfies `predicate` (each poll is a round trip to the hub). */
export function waitForMetric(
  hub: HubProcess,
  sample: string,
  predicate: (value: number) => boolean,
  timeoutMs = 10_000,
): Promise<number> {
  return waitForValue(sample, () => metric(hub, sample), predicate, timeoutMs);
}

/** Reads a value (e.g. a sum of metrics) until it satisfies `predicate`, or fails after the deadline. */
export async function waitForValue(
  what: string,
  read: () => Promise<number>,
  predicate: (value: number) => boolean,
  timeoutMs = 10_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (predicate(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} is still ${value} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
