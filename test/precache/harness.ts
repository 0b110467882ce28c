/**
 * An in-process hub for precache and difficulty tests: the real embedded broker, coordinator,
 * SQLite ledger, work flow and HTTP front, assembled like `dpow server` does (withPrecache), but
 * with the pieces in reach so a test can restart the hub under connected workers and look into
 * the coordinator.
 */
import pino from "pino";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";
import { DifficultyPolicy, type OutOfRange } from "../../src/hub/difficulty-policy.js";
import { type Hub, startHub } from "../../src/hub/hub.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import type { Coordinator } from "../../src/hub/ports.js";
import { type PrecacheSettings, withPrecache } from "../../src/hub/precache/index.js";
import { addService } from "../../src/hub/service-admin.js";
import type { WorkPeerSettings } from "../../src/hub/work-peer.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { type RunningWorker, startWorker } from "../../src/worker/index.js";

export interface TestHubOptions {
  db: string;
  /** The work peer listener on (see src/hub/work-peer.ts). */
  workPeer?: WorkPeerSettings;
  base: bigint;
  maxMultiplier?: number;
  outOfRange?: OutOfRange;
  /** Precache on, with these settings over test defaults. */
  precache?: Partial<PrecacheSettings>;
  /** Wraps the coordinator the hub uses (e.g. to pause between calls and force an interleaving). */
  wrapCoordinator?: (coordinator: Coordinator) => Coordinator;
}

export interface Credentials {
  user: string;
  api_key: string;
}

export class TestHub {
  hub!: Hub;
  coordinator!: Coordinator;
  readonly service: Credentials;
  private constructor(
    readonly broker: EmbeddedBroker,
    readonly ledger: SqliteLedger,
    readonly options: TestHubOptions,
    service: Credentials,
  ) {
    this.service = service;
  }

  static async start(options: TestHubOptions): Promise<TestHub> {
    const broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
    const ledger = new SqliteLedger(options.db);
    const { apiKey } = await addService(ledger, "svc", { rate: 0 });
    const test = new TestHub(broker, ledger, options, { user: "svc", api_key: apiKey });
    await test.open();
    return test;
  }

  get mqttUrl(): string {
    return `mqtt://client:client@127.0.0.1:${this.broker.port}`;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.hub.port}${path}`;
  }

  /** POST /service/ with this hub's service credentials plus `body`. */
  async request(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(this.url("/service/"), {
      method: "POST",
      body: JSON.stringify({ ...this.service, ...body }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  /** The sum of a Prometheus metric's samples carrying every label given, e.g. metric("dpow_results_total", 'outcome="win"'). */
  async metric(name: string, ...labels: string[]): Promise<number> {
    const text = await (await fetch(this.url("/metrics"))).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      const [sample, value] = line.split(" ");
      if (sample === undefined || value === undefined || !(sample === name || sample.startsWith(`${name}{`)))
        continue;
      if (labels.every((label) => sample.includes(label))) sum += Number(value);
    }
    return sum;
  }

  /** Stops the hub and its storage and starts them again on the same database, under the same broker. */
  async restart(): Promise<void> {
    await this.hub.close();
    await this.coordinator.close();
    await this.open();
  }

  async close(): Promise<void> {
    await this.hub.close();
    await this.coordinator.close();
    await this.ledger.close();
    await this.broker.hub.close();
    await this.broker.close();
  }

  private async open(): Promise<void> {
    const { options } = this;
    const settings: PrecacheSettings | undefined = options.precache && {
      difficulty: options.base,
      frontierLimit: 10_000,
      frontierTtlMs: 3600_000,
      resumeDelayMs: 0,
      ...options.precache,
    };
    const memory = new MemoryCoordinator({ frontierLimit: settings?.frontierLimit });
    const { coordinator, precache } = await withPrecache(settings, options.db, memory);
    this.coordinator = options.wrapCoordinator?.(coordinator) ?? coordinator;
    this.hub = await startHub({
      port: 0,
      host: "127.0.0.1",
      workPeer: options.workPeer,
      broker: { broker: this.broker.hub, clientCount: () => this.broker.clientCount() },
      coordinator: this.coordinator,
      ledger: this.ledger,
      policy: new DifficultyPolicy(options.base, options.maxMultiplier ?? 8, options.outOfRange),
      logger: pino({ level: "silent" }),
      announcements: { heartbeatMs: 100, statisticsMs: 60_000 },
      precache,
    });
  }
}

/** The real worker client with a one-thread CPU backend, resolved once it takes jobs. */
export async function startCpuWorker(hub: TestHub, payout: string): Promise<RunningWorker> {
  const worker = await startWorker({
    payout,
    server: hub.mqttUrl,
    backend: await createBackend("cpu", { threads: 1 }),
  });
  await waitFor("the worker to see the hub", async () => worker.status().hubOnline);
  return worker;
}

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
