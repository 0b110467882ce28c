/**
 * A child process of the scale benchmark (bench/scale.ts), driven over IPC one command at a time:
 * it holds a share of the simulated workers (so no process holds more sockets than its descriptor
 * limit allows, and the hub's event loop is not theirs), or sends the service requests and
 * `/upcheck/` probes, or sinks the bare socket writes of the floor. Times are on the machine's
 * clock (performance.timeOrigin + now), which every process on the machine shares.
 */
import { randomBytes } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import { publicKeyToAddress } from "../nano/account.js";
import { parseHash } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { formatResultPayload, parseCancelPayload, parseWorkPayload, topics } from "../protocol/topics.js";
import { ConnectionPool, encodePost, KeepAliveConnection } from "./hub-http-client.js";
import { LiteMqttClient, type LiteOptions } from "./hub-mqtt-lite.js";

export interface WorkerShare {
  mqttPort: number;
  password: string;
  /** Global index of this share's first worker: worker i searches nonces from (i + 1) << 48. */
  first: number;
  count: number;
  /**
   * Mean solve time of one worker (exponential: the geometric hash count of a real difficulty);
   * null: the workers never answer (they only count what they get).
   */
  meanSolveMs: number | null;
}

export interface RequestPlan {
  port: number;
  user: string;
  apiKey: string;
  rate: number;
  seconds: number;
  /** `/upcheck/` probes per second meanwhile (one connection, one at a time). */
  upcheckRate: number;
}

export type ScaleCommand =
  | ({ kind: "workers" } & WorkerShare)
  | { kind: "reset" }
  | { kind: "stats"; firstDeliveries: number }
  | { kind: "count" }
  | ({ kind: "requests" } & RequestPlan)
  | { kind: "sink" }
  | { kind: "close" };

/** What the workers of one share saw of each job, by hash. */
export interface JobSeen {
  jobs: number;
  /** When its workers got the job, earliest first (in stats: the first `firstDeliveries` only). */
  jobTimes: number[];
  cancels: number;
  cancelLast: number;
  /** Who published work for it and how long that worker "computed" (timer lateness included). */
  solves: Array<{ worker: number; computeMs: number }>;
}

export interface ShareStats {
  seen: Record<string, JobSeen>;
  /** Longest time between two heartbeats (or since the reset) per worker, ms. */
  heartbeatGaps: number[];
  /** Messages the share's workers received since the reset: jobs, cancels, heartbeats. */
  deliveries: number;
  results: number;
}

export interface RequestSamples {
  sent: Array<{ hash: string; at: number; answeredAt: number; worker: number | null; error?: string }>;
  upcheckMs: number[];
  upcheckFailures: string[];
}

const clock = () => performance.timeOrigin + performance.now();

/**
 * A login, tried again a few times: with thousands connecting at once a loaded machine's accept
 * queue overflows now and then, and the kernel resets the connection.
 */
async function connectRetrying(options: LiteOptions): Promise<LiteMqttClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await LiteMqttClient.connect(options);
    } catch (err) {
      if (attempt === 5) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

interface Worker {
  index: number;
  client: LiteMqttClient;
  timers: Map<string, NodeJS.Timeout>;
  lastHeartbeat: number;
  maxGap: number;
}

class Share {
  private seen = new Map<string, JobSeen>();
  private deliveries = 0;
  private results = 0;
  private readonly workers: Worker[] = [];

  async connect(share: WorkerShare): Promise<void> {
    // A few hundred logins at a time: the hub's accept queue is finite.
    for (let i = 0; i < share.count; i += 200) {
      const batch = Array.from({ length: Math.min(200, share.count - i) }, (_, j) =>
        this.start(share, share.first + i + j),
      );
      this.workers.push(...(await Promise.all(batch)));
    }
  }

  reset(): void {
    this.seen = new Map();
    this.deliveries = 0;
    this.results = 0;
    const now = clock();
    for (const w of this.workers) {
      w.lastHeartbeat = now;
      w.maxGap = 0;
    }
  }

  /** What was seen since the reset; of each job's delivery times the first `firstDeliveries`. */
  stats(firstDeliveries: number): ShareStats {
    const now = clock();
    const seen = [...this.seen].map(([hash, e]) => {
      const jobTimes = e.jobTimes.sort((a, b) => a - b).slice(0, firstDeliveries);
      return [hash, { ...e, jobTimes }] as const;
    });
    return {
      seen: Object.fromEntries(seen),
      heartbeatGaps: this.workers.map((w) => Math.max(w.maxGap, now - w.lastHeartbeat)),
      deliveries: this.deliveries,
      results: this.results,
    };
  }

  /** Messages received since the reset (cheaper to ask for than stats). */
  count(): number {
    return this.deliveries;
  }

  close(): void {
    for (const w of this.workers) {
      for (const timer of w.timers.values()) clearTimeout(timer);
      w.client.close();
    }
  }

  private entry(hash: string): JobSeen {
    let e = this.seen.get(hash);
    if (!e) {
      e = { jobs: 0, jobTimes: [], cancels: 0, cancelLast: 0, solves: [] };
      this.seen.set(hash, e);
    }
    return e;
  }

  private async start(share: WorkerShare, index: number): Promise<Worker> {
    const key = new Uint8Array(32);
    new DataView(key.buffer).setUint32(0, index + 1);
    const payout = publicKeyToAddress(key);
    const firstNonce = BigInt(index + 1) << 48n;
    const client = await connectRetrying({
      port: share.mqttPort,
      username: "client",
      password: share.password,
      clientId: `scale-${index}-${process.pid}`,
    });
    const worker: Worker = { index, client, timers: new Map(), lastHeartbeat: clock(), maxGap: 0 };
    client.onMessage((topic, payload) => this.onMessage(share, worker, payout, firstNonce, topic, payload));
    await client.subscribe({
      [topics.work("ondemand")]: 1,
      [topics.cancel("ondemand")]: 1,
      [topics.client(payout)]: 1,
      [topics.heartbeat]: 0,
    });
    return worker;
  }

  private onMessage(
    share: WorkerShare,
    worker: Worker,
    payout: string,
    firstNonce: bigint,
    topic: string,
    payload: Buffer,
  ): void {
    const now = clock();
    this.deliveries++;
    if (topic === topics.heartbeat) {
      worker.maxGap = Math.max(worker.maxGap, now - worker.lastHeartbeat);
      worker.lastHeartbeat = now;
    } else if (topic === topics.cancel("ondemand")) {
      const cancel = parseCancelPayload(payload);
      if (!cancel.ok) return;
      const e = this.entry(cancel.value);
      e.cancels++;
      e.cancelLast = Math.max(e.cancelLast, now);
      clearTimeout(worker.timers.get(cancel.value));
      worker.timers.delete(cancel.value);
    } else if (topic === topics.work("ondemand")) {
      const job = parseWorkPayload(payload);
      if (!job.ok) return;
      const { hash, difficulty } = job.value;
      const e = this.entry(hash);
      e.jobs++;
      e.jobTimes.push(now);
      if (share.meanSolveMs === null) return;
      const delay = -Math.log(1 - Math.random()) * share.meanSolveMs;
      const timer = setTimeout(() => {
        worker.timers.delete(hash);
        const root = parseHash(hash);
        let nonce = firstNonce;
        while (workValue(root, nonce) < difficulty) nonce += 1n;
        this.results++;
        worker.client.publish(
          topics.result("ondemand"),
          formatResultPayload({ hash, work: nonce, address: payout }),
        );
        e.solves.push({ worker: worker.index, computeMs: clock() - now });
      }, delay);
      worker.timers.set(hash, timer);
    }
  }
}

/** A request still unanswered this long is a failure (the service timeout asked for is 15 s). */
const ANSWER_DEADLINE_MS = 30_000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Open-loop requests at `rate`, `/upcheck/` probes beside them; resolves when all are answered. */
async function requests(plan: RequestPlan): Promise<RequestSamples> {
  const pool = new ConnectionPool(plan.port);
  let probe = await KeepAliveConnection.open(plan.port);
  const upcheck = Buffer.from(`GET /upcheck/ HTTP/1.1\r\nHost: 127.0.0.1:${plan.port}\r\n\r\n`);
  const samples: RequestSamples = { sent: [], upcheckMs: [], upcheckFailures: [] };
  const total = Math.max(1, Math.round(plan.rate * plan.seconds));
  const start = clock();
  const answered: Promise<void>[] = [];
  let probing = true;
  const probes = (async () => {
    while (probing) {
      const at = clock();
      try {
        await within(probe.request(upcheck), ANSWER_DEADLINE_MS);
        samples.upcheckMs.push(clock() - at);
      } catch (err) {
        // The hub closed the connection (or reset it): a probe that got no answer, on a new one.
        samples.upcheckFailures.push((err as Error).message);
        probe = await KeepAliveConnection.open(plan.port);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000 / plan.upcheckRate));
    }
  })();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / plan.rate;
    const wait = due - clock();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const hash = randomBytes(32).toString("hex").toUpperCase();
    const body = JSON.stringify({ user: plan.user, api_key: plan.apiKey, hash, timeout: 15 });
    const sample: RequestSamples["sent"][number] = { hash, at: clock(), answeredAt: 0, worker: null };
    samples.sent.push(sample);
    answered.push(
      within(pool.request(encodePost(plan.port, "/service/", body)), ANSWER_DEADLINE_MS).then(
        ({ status, body: text }) => {
          sample.answeredAt = clock();
          const work = status === 200 ? (JSON.parse(text) as { work?: string }).work : undefined;
          if (work === undefined) sample.error = `HTTP ${status}: ${text.slice(0, 200)}`;
          else sample.worker = Number(BigInt(`0x${work}`) >> 48n) - 1;
        },
        (err: Error) => {
          sample.answeredAt = clock();
          sample.error = err.message;
        },
      ),
    );
  }
  await Promise.all(answered);
  probing = false;
  await probes;
  pool.close();
  probe.close();
  return samples;
}

const share = new Share();
let sink: Server | undefined;
const sunk: Socket[] = [];

async function handle(command: ScaleCommand): Promise<unknown> {
  switch (command.kind) {
    case "workers":
      await share.connect(command);
      return null;
    case "reset":
      share.reset();
      return null;
    case "stats":
      return share.stats(command.firstDeliveries);
    case "count":
      return share.count();
    case "requests":
      return requests(command);
    case "sink": {
      const server = createServer((socket) => {
        sunk.push(socket);
        socket.resume();
      });
      sink = server;
      return new Promise((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
      );
    }
    case "close":
      share.close();
      for (const socket of sunk) socket.destroy();
      sink?.close();
      process.disconnect?.();
      return null;
  }
}

process.on("message", (command: ScaleCommand) => {
  // After `close` the channel is gone and nobody waits for an answer.
  const reply = (message: object) => process.connected && process.send?.(message);
  handle(command).then(
    (result) => reply({ ok: true, result }),
    (err: unknown) => reply({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
