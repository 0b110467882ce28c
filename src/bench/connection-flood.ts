/**
 * The descriptor reserve under attack (README, "Security and limits"), part of the scale
 * benchmark: a `dpow server` process under its own open-file limit, 20,000 MQTT connection
 * attempts from child processes (each under its own limit, from 250 loopback addresses so the
 * per-address cap does not bite), and meanwhile a service request and an /upcheck/ every 50 ms on
 * a new connection each. Reports what the attackers got, how the probes fared, the hub's peak
 * descriptor count and its log lines about the refusals. Also runs alone, printing JSON:
 *
 *   npm run build && node dist/bench/connection-flood.js [attempts] [attackers] [--mqtt-max-connections]
 *
 * The third argument, when given, is passed to the hub (0: no cap, to see what the reserve prevents).
 */
import { type ChildProcess, fork, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SimulatedSwarm } from "./hub-workers.js";
import { percentile } from "./section.js";

const BIN = fileURLToPath(new URL("../../bin/dpow.js", import.meta.url));
const PROBE_EVERY_MS = 50;
const ADDRESSES = 250;

interface AttackReport {
  accepted: number;
  refusedWithReason: number;
  closedUnanswered: number;
}

function field(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

/** MQTT 3.1.1 CONNECT as client/client; the CONNACK return code, or -1 when closed without one. */
function attempt(port: number, index: number, held: Socket[]): Promise<number> {
  const body = Buffer.concat([
    field("MQTT"),
    Buffer.from([4, 0xc2, 0, 0]),
    ...[`flood-${index}`, "client", "client"].map(field),
  ]);
  return new Promise((resolve) => {
    const localAddress = `127.1.0.${1 + (index % ADDRESSES)}`;
    const socket = connect({ port, host: "127.0.0.1", localAddress });
    socket.on("error", () => {});
    socket.once("connect", () => socket.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
    socket.once("close", () => resolve(-1));
    socket.once("data", (data: Buffer) => {
      const code = data[0] === 0x20 ? (data[3] ?? -1) : -1;
      if (code === 0) held.push(socket);
      else socket.destroy();
      resolve(code);
    });
  });
}

async function attacker(port: number, from: number, count: number): Promise<void> {
  const held: Socket[] = [];
  const report: AttackReport = { accepted: 0, refusedWithReason: 0, closedUnanswered: 0 };
  let next = from;
  const worker = async () => {
    while (next < from + count) {
      const code = await attempt(port, next++, held);
      if (code === 0) report.accepted++;
      else if (code === 3) report.refusedWithReason++;
      else report.closedUnanswered++;
    }
  };
  await Promise.all(Array.from({ length: 100 }, worker));
  process.send?.(report);
  // Holds its connections until the parent ends it.
  process.on("disconnect", () => process.exit(0));
}

function httpTime(port: number, method: "GET" | "POST", path: string, body?: string): Promise<number | null> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        agent: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => {
          const ok = method === "GET" ? text === "up" : "work" in (JSON.parse(text) as object);
          resolve(ok ? performance.now() - started : null);
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy());
    req.on("error", () => resolve(null));
    req.end(body);
  });
}

export interface FloodReport extends AttackReport {
  attempts: number;
  attackers: number;
  floodSeconds: number;
  /** The hub's cap on MQTT connections, from its start-up log. */
  maxConnections: number | undefined;
  hubPeakDescriptors: number;
  /** Service requests and /upcheck/ probes that got no (right) answer. */
  probeFailures: number;
  serviceMs: { n: number; p50: number; p99: number };
  upcheckMs: { n: number; p50: number; p99: number };
  /** The hub's summary lines about refused connections. */
  refusalLogLines: number;
  /** The hub's exit code after SIGTERM: 0 means it was up and shut down cleanly. */
  hubExit: number | null;
}

export async function connectionFlood(
  attempts: number,
  attackers: number,
  maxConnections?: string,
): Promise<FloodReport> {
  const dir = mkdtempSync(join(tmpdir(), "dpow-flood-"));
  const db = join(dir, "hub.db");
  const added = spawnSync(
    process.execPath,
    [BIN, "service", "add", "flood", "--json", "--db", db, "--rate", "0"],
    {
      encoding: "utf8",
    },
  );
  const credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  const hub = spawn(
    process.execPath,
    [
      BIN,
      "server",
      ...["--port", "0", "--mqtt-port", "0", "--db", db, "--difficulty", "f000000000000000"],
      ...(maxConnections === undefined ? [] : ["--mqtt-max-connections", maxConnections]),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const logs: Array<Record<string, unknown>> = [];
  const listening = await new Promise<Record<string, unknown>>((resolve) => {
    createInterface({ input: hub.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      logs.push(parsed);
      if (parsed.msg === "listening") resolve(parsed);
    });
  });
  const httpPort = listening.http_port as number;
  const mqttPort = listening.mqtt_port as number;
  const swarm = await SimulatedSwarm.connect({ mqttPort, password: "client", workers: 1, meanSolveMs: 1 });

  const service: number[] = [];
  const upcheck: number[] = [];
  let failures = 0;
  let peakDescriptors = 0;
  let probing = true;
  const probes = (async () => {
    while (probing) {
      const hash = randomBytes(32).toString("hex");
      const body = JSON.stringify({ ...credentials, hash });
      const [s, u] = await Promise.all([
        httpTime(httpPort, "POST", "/service/", body),
        httpTime(httpPort, "GET", "/upcheck/"),
      ]);
      for (const [value, into] of [
        [s, service],
        [u, upcheck],
      ] as const) {
        if (value === null) failures++;
        else into.push(value);
      }
      peakDescriptors = Math.max(peakDescriptors, readdirSync(`/proc/${hub.pid}/fd`).length);
      await new Promise((resolve) => setTimeout(resolve, PROBE_EVERY_MS));
    }
  })();

  const started = performance.now();
  const children: ChildProcess[] = [];
  const reports = await Promise.all(
    Array.from({ length: attackers }, (_, i) => {
      const share = Math.ceil(attempts / attackers);
      const child = fork(fileURLToPath(import.meta.url), [
        "attack",
        String(mqttPort),
        String(i * share),
        String(share),
      ]);
      children.push(child);
      return new Promise<AttackReport>((resolve) => child.once("message", (m) => resolve(m as AttackReport)));
    }),
  );
  const floodSeconds = (performance.now() - started) / 1000;
  // A few more probes with every accepted connection still held.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  probing = false;
  await probes;
  const total = reports.reduce(
    (sum, r) => ({
      accepted: sum.accepted + r.accepted,
      refusedWithReason: sum.refusedWithReason + r.refusedWithReason,
      closedUnanswered: sum.closedUnanswered + r.closedUnanswered,
    }),
    { accepted: 0, refusedWithReason: 0, closedUnanswered: 0 },
  );
  for (const child of children) child.disconnect();
  await swarm.close();
  hub.kill("SIGTERM");
  const exitCode = await new Promise<number | null>((resolve) => hub.once("exit", resolve));
  rmSync(dir, { recursive: true, force: true });
  const summaries = logs.filter((l) =>
    String(l.msg).startsWith("MQTT connections refused (over the hub's cap"),
  );
  return {
    attempts,
    attackers,
    floodSeconds,
    ...total,
    maxConnections: logs.find((l) => l.maxConnections !== undefined)?.maxConnections as number | undefined,
    hubPeakDescriptors: peakDescriptors,
    probeFailures: failures,
    serviceMs: { n: service.length, p50: percentile(service, 0.5), p99: percentile(service, 0.99) },
    upcheckMs: { n: upcheck.length, p50: percentile(upcheck, 0.5), p99: percentile(upcheck, 0.99) },
    refusalLogLines: summaries.length,
    hubExit: exitCode,
  };
}

// Run as a script (or forked as an attacker); imported by the scale benchmark, it does nothing.
if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "attack") {
    const [port, from, count] = args.map(Number) as [number, number, number];
    await attacker(port, from, count);
  } else {
    const report = await connectionFlood(Number(mode ?? 20_000), Number(args[0] ?? 4), args[1]);
    console.log(
      JSON.stringify(report, (_, v) =>
        typeof v === "number" && !Number.isInteger(v) ? Number(v.toFixed(1)) : v,
      ),
    );
  }
}
