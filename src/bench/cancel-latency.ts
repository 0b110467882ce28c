/**
 * A manual measurement of the external-broker path (README, "Scaling out"): a real Mosquitto from
 * deploy/mosquitto (its `set_tcp_nodelay` on or off) or NATS, a hub on it (its own socket's
 * TCP_NODELAY on or off), simulated workers in two child processes, one of which answers every job at
 * once. Jobs are posted open-loop to /service/; for each job it measures how long after the winning
 * result every worker got the cancel, and how long after the request every worker got the job.
 *
 *   npm run build && node dist/bench/cancel-latency.js [workers,...] [jobs/s,...] [mosquitto,nats]
 *
 * Each role (parent, hub, workers) is this file in its own process, so none steals another's loop.
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
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
import { BROKER_PASSWORDS, type RunningBroker, startMosquitto, startNats } from "./external-brokers.js";
import { LiteMqttClient } from "./hub-mqtt-lite.js";

const BASE = 0xf000000000000000n;
const PAYOUT = publicKeyToAddress(new Uint8Array(32));
const SECONDS_PER_RATE = 8;
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

async function hub(mqttPort: number, noDelay: boolean, jobQos: 0 | 1, dir: string): Promise<void> {
  const ledger = new SqliteLedger(join(dir, "hub.db"));
  const { apiKey } = await addService(ledger, "bench", { rate: 0 });
  const broker = await connectExternalBroker(
    `mqtt://dpowserver:${BROKER_PASSWORDS.dpowserver}@127.0.0.1:${mqttPort}`,
    {
      noDelay,
    },
  );
  const running = await startHub({
    port: 0,
    host: "127.0.0.1",
    broker: { broker: jobQos === 1 ? jobsAtLeastOnce(broker) : broker },
    coordinator: new MemoryCoordinator(),
    ledger,
    policy: new DifficultyPolicy(BASE, 8),
    http: { limits: { maxConnectionsPerIp: 0 } },
    logger: pino({ level: "warn", base: null }, pino.destination(2)),
  });
  process.send?.({ httpPort: running.port, apiKey });
}

// ---- parent ----

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

async function run(
  mqttPort: number,
  hubNoDelay: boolean,
  jobQos: 0 | 1,
  count: number,
  rate: number,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "dpow-nodelay-hub-"));
  const hubRole = forkRole(["hub", String(mqttPort), String(hubNoDelay), String(jobQos), dir]);
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

interface Setup {
  label: string;
  start: () => Promise<RunningBroker>;
  hubNoDelay: boolean[];
  jobQos: 0 | 1;
}

/**
 * The brokers and settings measured: Mosquitto with TCP_NODELAY all four ways, NATS (Go sets
 * TCP_NODELAY itself); and each with jobs at QoS 0 (`--mqtt-job-qos 0`), which NATS delivers
 * without JetStream.
 */
const SETUPS: Record<string, Setup[]> = {
  mosquitto: [
    {
      label: "Mosquitto, set_tcp_nodelay false",
      start: () => startMosquitto(false),
      hubNoDelay: [false, true],
      jobQos: 1,
    },
    {
      label: "Mosquitto, set_tcp_nodelay true",
      start: () => startMosquitto(true),
      hubNoDelay: [false, true],
      jobQos: 1,
    },
  ],
  nats: [{ label: "NATS", start: startNats, hubNoDelay: [true], jobQos: 1 }],
  "mosquitto-qos0": [
    { label: "Mosquitto, jobs QoS 0", start: () => startMosquitto(true), hubNoDelay: [true], jobQos: 0 },
  ],
  "nats-qos0": [{ label: "NATS, jobs QoS 0", start: startNats, hubNoDelay: [true], jobQos: 0 }],
};

async function main(counts: number[], rates: number[], brokers: string[]): Promise<void> {
  const ms = (v: number) => (Number.isNaN(v) ? "-" : `${v.toFixed(1)} ms`);
  console.log(
    "| broker | hub TCP_NODELAY | workers | jobs/s | cancel p50 | cancel p99 | cancel-to-all p99 | fan-out p99 | service p99 |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const setup of brokers.flatMap((name) => SETUPS[name] ?? [])) {
    const broker = await setup.start();
    try {
      for (const hubNoDelay of setup.hubNoDelay) {
        for (const count of counts) {
          for (const rate of rates) {
            const r = await run(broker.mqttPort, hubNoDelay, setup.jobQos, count, rate);
            console.log(
              `| ${setup.label} | ${hubNoDelay} | ${count} | ${rate} | ${ms(r.cancelP50)} | ${ms(r.cancelP99)} | ${ms(r.cancelToAllP99)} | ${ms(r.fanOutP99)} | ${ms(r.serviceP99)} |`,
            );
          }
        }
      }
    } finally {
      await broker.stop();
    }
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === "workers") {
  const [port, count, first] = args.map(Number) as [number, number, number];
  await workers(port, count, first, args[3] === "true");
} else if (mode === "hub") {
  await hub(Number(args[0]), args[1] === "true", args[2] === "0" ? 0 : 1, args[3] as string);
} else {
  const list = (text: string | undefined, fallback: number[]) =>
    text ? text.split(",").map(Number) : fallback;
  const brokers = (args[1] ?? "mosquitto").split(",") as string[];
  await main(list(mode, [200, 1000]), list(args[0], [5, 50]), brokers);
}
