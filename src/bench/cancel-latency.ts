/**
 * A manual measurement of TCP_NODELAY on the external-broker path (README, "Scaling out"): a real
 * Mosquitto from deploy/mosquitto (its `set_tcp_nodelay` on or off), a hub on it (its own socket's
 * TCP_NODELAY on or off), simulated workers in two child processes, one of which answers every job at
 * once. Jobs are posted open-loop to /service/; for each job it measures how long after the winning
 * result every worker got the cancel, and how long after the request every worker got the job.
 *
 *   npm run build && node dist/bench/cancel-latency.js [workers,...] [jobs/s,...]
 *
 * Each role (parent, hub, workers) is this file in its own process, so none steals another's loop.
 */
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { jobsAtLeastOnce } from "../hub/broker/delivery.js";
import { connectExternalBroker } from "../hub/broker/mqtt-client.js";
import { MemoryCoordinator } from "../hub/coordinator/memory.js";
import { DifficultyPolicy } from "../hub/difficulty-policy.js";
import { startHub } from "../hub/hub.js";
import { SqliteLedger } from "../hub/ledger/sqlite.js";
import { addService } from "../hub/service-admin.js";
import { publicKeyToAddress } from "../nano/account.js";
import { parseHash } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { formatResultPayload, parseCancelPayload, parseWorkPayload, topics } from "../protocol/topics.js";
import { LiteMqttClient } from "./hub-mqtt-lite.js";

const BASE = 0xf000000000000000n;
const PAYOUT = publicKeyToAddress(new Uint8Array(32));
const SECONDS_PER_RATE = 8;
const DEPLOY = new URL("../../deploy/mosquitto/", import.meta.url);
const SELF = fileURLToPath(import.meta.url);
const now = () => performance.timeOrigin + performance.now();

interface WorkerReport {
  /** hash -> when the winner published its result (only in the winner's process). */
  resultAt: Record<string, number>;
  /** hash -> when each worker of this process got the job / the cancel. */
  workAt: Record<string, number[]>;
  cancelAt: Record<string, number[]>;
}

// ---- workers (child process) ----

async function workers(port: number, count: number, first: number, withWinner: boolean): Promise<void> {
  const report: WorkerReport = { resultAt: {}, workAt: {}, cancelAt: {} };
  const add = (into: Record<string, number[]>, hash: string, at: number) => {
    let list = into[hash];
    if (list === undefined) {
      list = [];
      into[hash] = list;
    }
    list.push(at);
  };
  const clients = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const client = await LiteMqttClient.connect({
        port,
        username: "client",
        password: "client",
        clientId: `nodelay-${first + i}-${process.pid}`,
      });
      const winner = withWinner && i === 0;
      client.onMessage((topic, payload) => {
        const at = now();
        if (topic === topics.cancel("ondemand")) {
          const cancel = parseCancelPayload(payload);
          if (cancel.ok) add(report.cancelAt, cancel.value, at);
          return;
        }
        if (topic !== topics.work("ondemand")) return;
        const job = parseWorkPayload(payload);
        if (!job.ok) return;
        add(report.workAt, job.value.hash, at);
        if (!winner) return;
        const root = parseHash(job.value.hash);
        let nonce = 0n;
        while (workValue(root, nonce) < job.value.difficulty) nonce += 1n;
        client.publish(
          topics.result("ondemand"),
          formatResultPayload({ hash: job.value.hash, work: nonce, address: PAYOUT }),
        );
        report.resultAt[job.value.hash] = now();
      });
      await client.subscribe({
        [topics.work("ondemand")]: 1,
        [topics.cancel("ondemand")]: 1,
        [topics.heartbeat]: 0,
      });
      return client;
    }),
  );
  process.send?.("ready");
  process.on("message", (message) => {
    if (message !== "report") return;
    for (const client of clients) client.close();
    // Disconnecting at once could drop the report (megabytes) before it is written.
    process.send?.(report, () => process.disconnect?.());
  });
}

// ---- hub (child process) ----

async function hub(mqttPort: number, noDelay: boolean, dir: string): Promise<void> {
  const ledger = new SqliteLedger(join(dir, "hub.db"));
  const { apiKey } = await addService(ledger, "bench", { rate: 0 });
  const broker = await connectExternalBroker(`mqtt://dpowserver:server-secret@127.0.0.1:${mqttPort}`, {
    noDelay,
  });
  const running = await startHub({
    port: 0,
    host: "127.0.0.1",
    broker: { broker: jobsAtLeastOnce(broker) },
    coordinator: new MemoryCoordinator(),
    ledger,
    policy: new DifficultyPolicy(BASE, 8),
    http: { limits: { maxConnectionsPerIp: 0 } },
    logger: pino({ level: "warn", base: null }, pino.destination(2)),
  });
  process.send?.({ httpPort: running.port, apiKey });
}

// ---- parent ----

interface Mosquitto {
  port: number;
  stop(): Promise<void>;
}

/** The shipped config on ephemeral loopback ports, its `set_tcp_nodelay` as asked. */
async function startMosquitto(noDelay: boolean): Promise<Mosquitto> {
  const bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"].find(existsSync);
  if (bin === undefined) throw new Error("mosquitto is not installed");
  const dir = mkdtempSync(join(tmpdir(), "dpow-nodelay-mosquitto-"));
  const passwords = join(dir, "dpow.passwd");
  writeFileSync(passwords, "");
  for (const [user, password] of [
    ["dpowserver", "server-secret"],
    ["client", "client"],
  ]) {
    execFileSync("mosquitto_passwd", ["-b", passwords, user as string, password as string]);
  }
  const [port, wsPort] = [await freePort(), await freePort()];
  const config = readFileSync(new URL("mosquitto.conf", DEPLOY), "utf8")
    .replace(/^password_file .*$/m, `password_file ${passwords}`)
    .replace(/^acl_file .*$/m, `acl_file ${fileURLToPath(new URL("dpow.acl", DEPLOY))}`)
    .replace(/^persistence_location .*$/m, `persistence_location ${dir}/`)
    .replace(/^set_tcp_nodelay .*$/m, `set_tcp_nodelay ${noDelay}`)
    .replace(/^listener 1883$/m, `listener ${port} 127.0.0.1`)
    .replace(/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`);
  writeFileSync(join(dir, "mosquitto.conf"), `${config}\nuser ${userInfo().username}\n`);
  const child = spawn(bin, ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
  while (!(await listening(port))) await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    port,
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function forkRole(args: string[]): { child: ChildProcess; first: Promise<unknown> } {
  const child = fork(SELF, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return { child, first: new Promise((resolve) => child.once("message", resolve)) };
}

const percentile = (values: number[], p: number) =>
  values.length === 0
    ? Number.NaN
    : ([...values].sort((a, b) => a - b)[Math.ceil(p * values.length) - 1] as number);

interface RunResult {
  cancelP50: number;
  cancelP99: number;
  cancelToAllP99: number;
  fanOutP99: number;
  serviceP99: number;
  jobs: number;
}

async function run(mqttPort: number, hubNoDelay: boolean, count: number, rate: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "dpow-nodelay-hub-"));
  const hubRole = forkRole(["hub", String(mqttPort), String(hubNoDelay), dir]);
  const { httpPort, apiKey } = (await hubRole.first) as { httpPort: number; apiKey: string };
  const half = Math.ceil(count / 2);
  const roles = [0, 1].map((i) =>
    forkRole([
      "workers",
      String(mqttPort),
      String(i === 0 ? half : count - half),
      String(i * half),
      String(i === 0),
    ]),
  );
  await Promise.all(roles.map((r) => r.first));
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const postedAt = new Map<string, number>();
  const service: number[] = [];
  const total = rate * SECONDS_PER_RATE;
  const started = now();
  const answers: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const hash = randomBytes(32).toString("hex").toUpperCase();
    postedAt.set(hash, now());
    answers.push(
      post(httpPort, agent, JSON.stringify({ user: "bench", api_key: apiKey, hash })).then(() => {
        service.push(now() - (postedAt.get(hash) as number));
      }),
    );
  }
  await Promise.all(answers);
  // Cancels still on their way when the last answer came back.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const reports = await Promise.all(
    roles.map(
      ({ child }) =>
        new Promise<WorkerReport>((resolve) => {
          child.once("message", (m) => resolve(m as WorkerReport));
          child.send("report");
        }),
    ),
  );
  agent.destroy();
  // Nothing of the hub's is kept: killing it is the quickest way out.
  const exited = new Promise((resolve) => hubRole.child.once("exit", resolve));
  hubRole.child.kill("SIGKILL");
  await exited;
  rmSync(dir, { recursive: true, force: true });
  const resultAt = Object.assign({}, ...reports.map((r) => r.resultAt)) as Record<string, number>;
  const cancels: number[] = [];
  const cancelToAll: number[] = [];
  const fanOut: number[] = [];
  for (const [hash, posted] of postedAt) {
    const result = resultAt[hash];
    const cancelTimes = reports.flatMap((r) => r.cancelAt[hash] ?? []);
    const workTimes = reports.flatMap((r) => r.workAt[hash] ?? []);
    if (workTimes.length > 0) fanOut.push(Math.max(...workTimes) - posted);
    if (result === undefined || cancelTimes.length === 0) continue;
    for (const at of cancelTimes) cancels.push(at - result);
    cancelToAll.push(Math.max(...cancelTimes) - result);
  }
  return {
    cancelP50: percentile(cancels, 0.5),
    cancelP99: percentile(cancels, 0.99),
    cancelToAllP99: percentile(cancelToAll, 0.99),
    fanOutP99: percentile(fanOut, 0.99),
    serviceP99: percentile(service, 0.99),
    jobs: postedAt.size,
  };
}

function post(port: number, agent: Agent, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/service/",
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve());
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function main(counts: number[], rates: number[]): Promise<void> {
  const ms = (v: number) => (Number.isNaN(v) ? "-" : `${v.toFixed(1)} ms`);
  console.log(
    "| Mosquitto set_tcp_nodelay | hub TCP_NODELAY | workers | jobs/s | cancel p50 | cancel p99 | cancel-to-all p99 | fan-out p99 | service p99 |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const mosquittoNoDelay of [false, true]) {
    const mosquitto = await startMosquitto(mosquittoNoDelay);
    try {
      for (const hubNoDelay of [false, true]) {
        for (const count of counts) {
          for (const rate of rates) {
            const r = await run(mosquitto.port, hubNoDelay, count, rate);
            console.log(
              `| ${mosquittoNoDelay} | ${hubNoDelay} | ${count} | ${rate} | ${ms(r.cancelP50)} | ${ms(r.cancelP99)} | ${ms(r.cancelToAllP99)} | ${ms(r.fanOutP99)} | ${ms(r.serviceP99)} |`,
            );
          }
        }
      }
    } finally {
      await mosquitto.stop();
    }
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "workers") {
  const [port, count, first] = args.map(Number) as [number, number, number];
  await workers(port, count, first, args[3] === "true");
} else if (mode === "hub") {
  await hub(Number(args[0]), args[1] === "true", args[2] as string);
} else {
  const list = (text: string | undefined, fallback: number[]) =>
    text ? text.split(",").map(Number) : fallback;
  await main(list(mode, [200, 1000]), list(args[0], [5, 50]));
}
