import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { parseHash, publicKeyToAddress, workValue } from "../../src/nano/index.js";
import {
  formatResultPayload,
  parseWorkPayload,
  topics,
  type WorkType,
  workTypeOf,
} from "../../src/protocol/topics.js";

export interface SeenJob {
  type: WorkType;
  hash: string;
  difficulty: bigint;
}

export const randomHash = (): string => randomBytes(32).toString("hex").toUpperCase();
export const newPayout = (): string => publicKeyToAddress(randomBytes(32));

/** Real work: searches nonces from a random start until the value reaches `threshold`. */
export function solve(hash: string, threshold: bigint): bigint {
  const root = parseHash(hash);
  let nonce = randomBytes(8).readBigUInt64BE();
  while (workValue(root, nonce) < threshold) nonce = (nonce + 1n) & 0xffffffffffffffffn;
  return nonce;
}

/** Work that fails `threshold` (and, when given, reaches `atLeast`): what a cheating worker sends. */
export function solveBelow(hash: string, threshold: bigint, atLeast = 0n): bigint {
  const root = parseHash(hash);
  let nonce = randomBytes(8).readBigUInt64BE();
  for (;;) {
    const value = workValue(root, nonce);
    if (value < threshold && value >= atLeast) return nonce;
    nonce = (nonce + 1n) & 0xffffffffffffffffn;
  }
}

/**
 * A worker for tests: a real MQTT.js client on the public `client` account that sees every job and
 * publishes results when told to (or, with `auto`, solves every job itself, honestly).
 */
export class FakeWorker {
  readonly jobs: SeenJob[] = [];
  readonly cancels: string[] = [];
  /** Messages on this worker's `client/PAYOUT` topic. */
  readonly feedback: Array<Record<string, unknown>> = [];
  private readonly listeners = new Set<() => void>();

  private constructor(
    readonly client: MqttClient,
    readonly payout: string,
    private readonly auto: boolean,
  ) {
    client.on("message", (topic, payload) => this.onMessage(topic, payload));
  }

  static async connect(
    mqttPort: number,
    options: {
      payout?: string;
      auto?: boolean;
      password?: string;
      clientId?: string;
      /** Keep the broker session (and its queued jobs) while offline; needs a clientId. */
      persistent?: boolean;
    } = {},
  ): Promise<FakeWorker> {
    const payout = options.payout ?? newPayout();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, {
      username: "client",
      password: options.password ?? "client",
      reconnectPeriod: 0,
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
      ...(options.persistent === true ? { clean: false } : {}),
    });
    const worker = new FakeWorker(client, payout, options.auto ?? false);
    await client.subscribeAsync(["work/#", "cancel/#", topics.client(payout)], { qos: 1 });
    return worker;
  }

  /** Waits for a job on `hash` (the `n`th one for it, counting from 1). */
  waitForJob(hash: string, n = 1, timeoutMs = 10_000): Promise<SeenJob> {
    return this.waitFor(
      `job ${n} for ${hash}`,
      () => this.jobs.filter((j) => j.hash === hash)[n - 1],
      timeoutMs,
    );
  }

  waitForFeedback(what: string, predicate: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000) {
    return this.waitFor(what, () => this.feedback.find(predicate), timeoutMs);
  }

  waitForCancel(hash: string, timeoutMs = 10_000): Promise<string> {
    return this.waitFor(`cancel of ${hash}`, () => this.cancels.find((h) => h === hash), timeoutMs);
  }

  async publishResult(
    hash: string,
    work: bigint,
    type: WorkType = "ondemand",
    payout = this.payout,
  ): Promise<void> {
    await this.client.publishAsync(topics.result(type), formatResultPayload({ hash, work, address: payout }));
  }

  async publishRaw(topic: string, payload: string | Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.client(this.payout)) {
      this.feedback.push(JSON.parse(payload.toString()) as Record<string, unknown>);
    } else if (topic.startsWith("cancel/")) {
      this.cancels.push(payload.toString());
    } else if (topic.startsWith("work/")) {
      const parsed = parseWorkPayload(payload);
      const type = workTypeOf(topic);
      if (parsed.ok && type) {
        const job = { type, ...parsed.value };
        this.jobs.push(job);
        if (this.auto) this.publishResult(job.hash, solve(job.hash, job.difficulty), type).catch(() => {});
      }
    }
    for (const wake of this.listeners) wake();
  }

  private waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.listeners.delete(wake);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.listeners.delete(wake);
        reject(new Error(`fake worker: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.listeners.add(wake);
      wake();
    });
  }
}
