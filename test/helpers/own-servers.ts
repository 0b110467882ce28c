/**
 * A private redis-server and a private PostgreSQL cluster, each on its own ephemeral loopback port
 * in a temporary directory, that can be stopped and started again on the same port: the chaos run
 * and the store-outage tests restart them without touching the machine's shared services.
 */
import { type ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemon } from "./daemon.js";
import { freePort } from "./ports.js";

/** Whether `redis-server` and PostgreSQL's `initdb` are on PATH (in CI, a missing one is a failure). */
export function ownServersAvailable(): boolean {
  const missing = ["redis-server", "initdb", "postgres"].filter(
    (bin) => spawnSync(bin, ["--version"], { stdio: "ignore" }).status !== 0,
  );
  if (missing.length === 0) return true;
  if (process.env.CI === "true") throw new Error(`CI requires ${missing.join(", ")} on PATH`);
  console.warn(`skipping tests that start their own stores: ${missing.join(", ")} not on PATH`);
  return false;
}

export interface OwnServer {
  url: string;
  /** Stops it (fast: what an operator's restart or a crash of the host's service does) and waits. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
  /** The pids it ran under, for the report. */
  pid(): number | undefined;
}

function ownServer(url: string, dir: string, launch: () => Promise<ChildProcess>, signal: NodeJS.Signals) {
  let child: ChildProcess | undefined;
  const server: OwnServer = {
    url,
    async start() {
      child = await launch();
    },
    async stop() {
      const current = child;
      child = undefined;
      await stopDaemon(current, signal);
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
    pid: () => child?.pid,
  };
  return server;
}

/** redis-server without persistence: a restart loses every key, as a crashed cache would. */
export async function startRedisServer(): Promise<OwnServer> {
  const dir = mkdtempSync(join(tmpdir(), "dpow-chaos-redis-"));
  const port = await freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    "no",
  ];
  const server = ownServer(
    `redis://127.0.0.1:${port}`,
    dir,
    () =>
      startDaemon({
        name: "redis-server",
        command: "redis-server",
        args,
        ready: /Ready to accept connections/,
      }),
    "SIGTERM",
  );
  await server.start();
  return server;
}

/**
 * A fresh PostgreSQL cluster (initdb, trust auth, fsync off: its durability is not under test).
 * PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user and the
 * server is run as that user with setpriv, which execs (the child's pid is the postmaster's).
 */
export async function startPostgresServer(): Promise<OwnServer> {
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "dpow-chaos-postgres-"));
  const data = join(dir, "data");
  const sockets = join(dir, "sockets");
  mkdirSync(sockets);
  const asOwner = (command: string, args: string[]): [string, string[]] =>
    root
      ? ["setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", command, ...args]]
      : [command, args];
  if (root) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }));
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }));
    chownSync(dir, uid, gid);
    chownSync(sockets, uid, gid);
  }
  const [initdb, initArgs] = asOwner("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  execFileSync(initdb, initArgs, { stdio: "ignore" });
  const port = await freePort();
  const [postgres, args] = asOwner("postgres", [
    "-D",
    data,
    "-p",
    String(port),
    "-k",
    sockets,
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    "fsync=off",
  ]);
  const server = ownServer(
    `postgres://postgres@127.0.0.1:${port}/postgres`,
    dir,
    () =>
      startDaemon({
        name: "postgres",
        command: postgres,
        args,
        ready: /database system is ready to accept connections/,
        timeoutMs: 30_000,
      }),
    // Fast shutdown: open sessions are ended at once, as in a restart of the database host.
    "SIGINT",
  );
  await server.start();
  // setpriv execs, so the child is the postmaster; checked, since stop() signals that pid.
  const postmaster = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  if (postmaster !== server.pid()) {
    await server.dispose();
    throw new Error(`postgres runs as pid ${postmaster}, not as the spawned ${server.pid()}`);
  }
  return server;
}
