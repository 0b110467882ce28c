/**
 * Test stand-ins for the hub's side of the wire, built from real parts: an MQTT client logged in as
 * `dpowserver` that publishes jobs, cancels, feedback and heartbeats and reads results, checked with
 * src/nano exactly as the hub would.
 */
import { randomBytes } from "node:crypto";
import mqtt, { type MqttClient } from "mqtt";
import { expect } from "vitest";
import { formatU64, parseHash, publicKeyToAddress, workValue } from "../../src/nano/index.js";
import {
  formatWorkPayload,
  parseResultPayload,
  type ResultPayload,
  topics,
  type WorkType,
} from "../../src/protocol/topics.js";
import type { RunningWorker, WorkerLog, WorkerStatus } from "../../src/worker/index.js";

/** Expected 2^10 hashes: solved in well under a millisecond, even on a busy CPU. */
export const EASY = 0xffc0000000000000n;
/** Expected 2^60 hashes: never solved in a test, so the job runs until it is cancelled. */
export const IMPOSSIBLE = 0xfffffffffffffff0n;

export const randomHash = (): string => randomBytes(32).toString("hex").toUpperCase();

export function newPayout(): string {
  return publicKeyToAddress(randomBytes(32));
}

export interface Received extends ResultPayload {
  type: WorkType;
}

/** Waits until `check` returns a value (not undefined) or throws, checking on every event of `subscribe`. */
export function waitUntil<T>(
  what: string,
  check: () => T | undefined,
  subscribe: (wake: () => void) => () => void,
  timeoutMs = 15_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let unsubscribe = () => {};
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      settle();
    };
    const wake = () => {
      try {
        const value = check();
        if (value !== undefined) finish(() => resolve(value));
      } catch (err) {
        finish(() => reject(err));
      }
    };
    unsubscribe = subscribe(wake);
    wake();
  });
}

export function waitForStatus(
  worker: RunningWorker,
  what: string,
  predicate: (status: WorkerStatus) => boolean,
  timeoutMs?: number,
): Promise<WorkerStatus> {
  return waitUntil(
    what,
    () => {
      const status = worker.status();
      return predicate(status) ? status : undefined;
    },
    (wake) => worker.onStatus(wake),
    timeoutMs,
  );
}

/** The hub's side of the wire over a real MQTT connection as `dpowserver`. */
export class TestHub {
  readonly results: Received[] = [];
  private readonly listeners = new Set<() => void>();
  private heartbeat: NodeJS.Timeout | undefined;

  private constructor(private readonly client: MqttClient) {
    client.on("message", (topic, payload) => {
      const parsed = parseResultPayload(payload);
      const type = topic.split("/")[1] as WorkType;
      if (parsed.ok) this.results.push({ ...parsed.value, type });
      for (const listener of this.listeners) listener();
    });
  }

  static async connect(url: string, password: string): Promise<TestHub> {
    const client = await mqtt.connectAsync(url, { username: "dpowserver", password, reconnectPeriod: 200 });
    await client.subscribeAsync(topics.allResults, { qos: 1 });
    return new TestHub(client);
  }

  /** Publishes a heartbeat every `everyMs` until stopHeartbeat(). */
  startHeartbeat(everyMs = 100): void {
    this.stopHeartbeat();
    const beat = () => this.client.publish(topics.heartbeat, "");
    beat();
    this.heartbeat = setInterval(beat, everyMs);
  }

  stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async work(type: WorkType, hash: string, difficulty: bigint): Promise<void> {
    await this.client.publishAsync(topics.work(type), formatWorkPayload({ hash, difficulty }), { qos: 1 });
  }

  async cancel(type: WorkType, hash: string): Promise<void> {
    await this.client.publishAsync(topics.cancel(type), hash, { qos: 1 });
  }

  async feedback(payout: string, message: object): Promise<void> {
    await this.client.publishAsync(topics.client(payout), JSON.stringify(message), { qos: 1 });
  }

  /** The result for `hash`, once it arrives; its work is checked against `difficulty` with src/nano. */
  async result(hash: string, difficulty: bigint, timeoutMs?: number): Promise<Received> {
    const result = await waitUntil(
      `a result for ${hash.slice(0, 8)}`,
      () => this.results.find((r) => r.hash === hash),
      (wake) => {
        this.listeners.add(wake);
        return () => this.listeners.delete(wake);
      },
      timeoutMs,
    );
    const value = workValue(parseHash(hash), result.work);
    expect(value >= difficulty, `work ${formatU64(result.work)} reaches ${formatU64(difficulty)}`).toBe(true);
    return result;
  }

  async close(): Promise<void> {
    this.stopHeartbeat();
    await this.client.endAsync(true);
  }
}

/** A WorkerLog that keeps every line, for asserting on what a volunteer would read. */
export function memoryLog(): WorkerLog & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (_fields: object, msg: string) => lines.push(`${level} ${msg}`);
  return { lines, info: at("info"), warn: at("warn"), error: at("error") };
}
