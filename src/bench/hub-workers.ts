/**
 * Simulated workers for the hub benchmark: real MQTT clients on the public `client` account that
 * take `work/ondemand` jobs, "compute" for a time drawn from the exponential distribution (the
 * continuous form of the geometric number of hashes a real difficulty needs), then find real valid
 * work for the hub's low benchmark difficulty in microseconds and publish it. A cancel stops them.
 */
import { publicKeyToAddress } from "../nano/account.js";
import { formatU64, parseHash } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { formatResultPayload, parseCancelPayload, parseWorkPayload, topics } from "../protocol/topics.js";
import { LiteMqttClient } from "./hub-mqtt-lite.js";

export interface SwarmOptions {
  mqttPort: number;
  password: string;
  workers: number;
  /** Mean solve time of ONE worker; the swarm's (the fastest worker's) mean is this / workers. */
  meanSolveMs: number;
}

/**
 * When the worker that sent `work` for `hash` received the job and when it published its result
 * (performance.now() of this process). The benchmark charges the hub for the time outside that
 * span: the worker's compute time, timer lateness in this process included, is not the hub's.
 */
export interface Hold {
  receivedAt: number;
  publishedAt: number;
}

export type HoldTimes = Map<string, Hold>;

export const holdKey = (hash: string, work: string): string => `${hash.toUpperCase()},${work.toLowerCase()}`;

interface SimulatedWorker {
  client: LiteMqttClient;
  /** The jobs it is computing now, by hash. */
  timers: Map<string, NodeJS.Timeout>;
}

export class SimulatedSwarm {
  private constructor(
    private readonly workers: SimulatedWorker[],
    readonly holds: HoldTimes,
  ) {}

  /** Resolves once every worker is connected and subscribed, so no job is broadcast before they listen. */
  static async connect(options: SwarmOptions): Promise<SimulatedSwarm> {
    const holds: HoldTimes = new Map();
    const workers = await Promise.all(
      Array.from({ length: options.workers }, (_, index) => startWorker(index, options, holds)),
    );
    return new SimulatedSwarm(workers, holds);
  }

  async close(): Promise<void> {
    for (const { timers } of this.workers) for (const timer of timers.values()) clearTimeout(timer);
    for (const { client } of this.workers) client.close();
  }
}

async function startWorker(index: number, options: SwarmOptions, holds: HoldTimes): Promise<SimulatedWorker> {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, index + 1);
  const payout = publicKeyToAddress(key);
  // Each worker searches its own nonce range, so the work in a response names the worker that won.
  const firstNonce = BigInt(index + 1) << 48n;
  const client = await LiteMqttClient.connect({
    port: options.mqttPort,
    username: "client",
    password: options.password,
    clientId: `bench-worker-${index}-${process.pid}`,
  });
  // The subscriptions of a real worker taking on-demand work (see protocol/worker-session.ts).
  await client.subscribe({
    [topics.work("ondemand")]: 1,
    [topics.cancel("ondemand")]: 1,
    [topics.client(payout)]: 1,
    [topics.heartbeat]: 0,
  });
  const timers = new Map<string, NodeJS.Timeout>();
  client.onMessage((topic, payload) => {
    if (topic === topics.cancel("ondemand")) {
      const cancel = parseCancelPayload(payload);
      if (!cancel.ok) return;
      clearTimeout(timers.get(cancel.value));
      timers.delete(cancel.value);
      return;
    }
    if (topic !== topics.work("ondemand")) return;
    const job = parseWorkPayload(payload);
    if (!job.ok) return;
    const { hash, difficulty } = job.value;
    const received = performance.now();
    const delay = -Math.log(1 - Math.random()) * options.meanSolveMs;
    const timer = setTimeout(() => {
      timers.delete(hash);
      const root = parseHash(hash);
      let nonce = firstNonce;
      while (workValue(root, nonce) < difficulty) nonce += 1n;
      client.publish(topics.result("ondemand"), formatResultPayload({ hash, work: nonce, address: payout }));
      holds.set(holdKey(hash, formatU64(nonce)), { receivedAt: received, publishedAt: performance.now() });
    }, delay);
    timers.set(hash, timer);
  });
  return { client, timers };
}
