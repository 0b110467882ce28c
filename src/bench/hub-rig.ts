/**
 * What the hub benchmark runs against: the hub exactly as `dpow server` launches it (embedded
 * broker, in-memory coordinator, SQLite ledger in a temporary file with the production sync
 * settings) on ephemeral loopback ports, a bare node:http server as the reference, and the load
 * generator in a child process driven over IPC.
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { launchServer, type MqttSettings, type RunningServer } from "../hub/launch.js";
import { SqliteLedger } from "../hub/ledger/sqlite.js";
import { addService } from "../hub/service-admin.js";
import type { Credentials, LoadCommand, LoadCpu, LoadReply } from "./hub-load.js";

/**
 * Expected hashes 16: a simulated worker finds real, valid work in microseconds, so its solve
 * time is the delay it draws, and the hub verifies real work as it would at any difficulty.
 */
export const BENCH_BASE = 0xf000000000000000n;

/** A cache-hit answer of the same shape and size as the hub's, for the bare server to send. */
const FIXED_ANSWER = JSON.stringify({
  work: "0123456789abcdef",
  hash: "0".repeat(64),
  difficulty: "f0123456789abcde",
  multiplier: "1.0718",
});

/** A command's samples, with how busy each side was meanwhile (in % of one core). */
export type Measured<T> = T &
  LoadCpu & {
    /** This process: the hub, or the bare server while that one is measured. */
    hubCpuPercent: number;
  };

export interface Rig {
  hub: RunningServer;
  credentials: Credentials;
  clientPassword: string;
  barePort: number;
  /** Runs one command in the load generator and resolves with its result. */
  load<T>(command: Exclude<LoadCommand, { kind: "close" }>): Promise<Measured<T>>;
  close(): Promise<void>;
}

export interface BenchHub {
  hub: RunningServer;
  credentials: Credentials;
  clientPassword: string;
  close(): Promise<void>;
}

/**
 * The hub exactly as `dpow server` launches it, on ephemeral loopback ports, with one unlimited
 * service; `mqtt` adds broker settings (the scale benchmark sets its fan-out and lifts the
 * per-address cap: every simulated worker comes from 127.0.0.1).
 */
export async function launchBenchHub(mqtt?: MqttSettings): Promise<BenchHub> {
  const dir = mkdtempSync(join(tmpdir(), "dpow-bench-"));
  const db = join(dir, "hub.db");
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const ledger = new SqliteLedger(db);
    // Unlimited rate: the benchmark measures the hub, not its throttle.
    const { apiKey } = await addService(ledger, "bench", { rate: 0 });
    await ledger.close();
    const clientPassword = randomBytes(12).toString("hex");
    const hub = await launchServer({
      port: 0,
      host: "127.0.0.1",
      mqttPort: 0,
      db,
      base: BENCH_BASE,
      maxMultiplier: 8,
      clientPassword,
      // The load comes from one address, with as many connections as it has requests waiting; and
      // it is open loop, so a stall of a shared machine can leave more than a socket's cap of
      // requests waiting: the bench measures latency, not the per-socket cap (that has its tests).
      http: {
        limits: { maxConnections: 0, maxConnectionsPerIp: 0, wsMaxInFlight: Number.POSITIVE_INFINITY },
      },
      ...(mqtt ? { mqtt } : {}),
      // Warnings and errors only, on stderr: stdout may be carrying --json.
      logger: pino({ level: "warn", base: null }, pino.destination(2)),
    });
    const close = async () => {
      await hub.close();
      remove();
    };
    return { hub, credentials: { user: "bench", apiKey }, clientPassword, close };
  } catch (err) {
    remove();
    throw err;
  }
}

export async function startRig(): Promise<Rig> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    const { hub, credentials, clientPassword, close: closeHub } = await launchBenchHub();
    closers.push(closeHub);
    const bare = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(FIXED_ANSWER));
    });
    const barePort = await new Promise<number>((resolve) =>
      bare.listen(0, "127.0.0.1", () => resolve((bare.address() as { port: number }).port)),
    );
    closers.push(() => closeServer(bare));
    const child = fork(new URL("./hub-load.js", import.meta.url), [], { stdio: ["ignore", 2, 2, "ipc"] });
    closers.push(() => stopChild(child));
    return {
      hub,
      credentials,
      clientPassword,
      barePort,
      load: (command) => measured(call(child, command)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function measured<T>(work: Promise<T & LoadCpu>): Promise<Measured<T>> {
  const cpu = process.cpuUsage();
  const began = performance.now();
  const result = await work;
  const used = process.cpuUsage(cpu);
  return { ...result, hubCpuPercent: (used.user + used.system) / 10 / (performance.now() - began) };
}

/** Sends one command to a child that answers each with one LoadReply; resolves with its result. */
export function call<T>(child: ChildProcess, command: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the load generator exited (code ${code})`));
    child.once("exit", onExit);
    child.once("message", (reply: LoadReply) => {
      child.off("exit", onExit);
      if (reply.ok) resolve(reply.result as T);
      else reject(new Error(`load generator: ${reply.error}`));
    });
    child.send(command);
  });
}

/** Asks a child to close (`{ kind: "close" }`), killing it if it has not exited within 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.send({ kind: "close" });
  const timer = setTimeout(() => child.kill(), 5000);
  await exited;
  clearTimeout(timer);
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
