/**
 * The request's timeout covers the whole request: a store call before the waiter starts (the cache
 * look-up, a pool waiting for a connection) or a job's publish that never completes (a QoS 1
 * publish waiting for an acknowledgement that a dropped connection never brings) must not hold
 * the answer past it. The chaos run saw a 3 s request answered after 6 s; here the slow call is
 * one that never settles, so the test does not depend on how slow it is.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { Accounting } from "../../src/hub/accounting.js";
import { MemoryCoordinator } from "../../src/hub/coordinator/memory.js";
import { DifficultyPolicy } from "../../src/hub/difficulty-policy.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { HubMetrics } from "../../src/hub/metrics.js";
import type { Broker, Coordinator } from "../../src/hub/ports.js";
import { RateLimiter } from "../../src/hub/rate-limiter.js";
import { ServiceApi } from "../../src/hub/service-api.js";
import { ServiceCounters } from "../../src/hub/service-counters.js";
import type { ServiceDirectory } from "../../src/hub/service-directory.js";
import { WorkFlow } from "../../src/hub/work-flow.js";
import { DEFAULT_PENALTIES, WorkerPenalties } from "../../src/hub/worker-penalties.js";
import { randomHash } from "../helpers/fake-worker.js";

const dir = mkdtempSync(join(tmpdir(), "dpow-deadline-"));
const ledger = new SqliteLedger(join(dir, "ledger.db"));
const logger = pino({ level: "silent" });
const never = new Promise<never>(() => {});

afterAll(() => {
  ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A coordinator whose method `name` never settles; the rest is the in-memory one. */
function stalled(name: keyof Coordinator): Coordinator {
  const inner = new MemoryCoordinator();
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === name) return () => never;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function broker(publish: Broker["publish"] = async () => {}): Broker {
  return { publish, subscribe: async () => {}, close: async () => {} };
}

const metrics = new HubMetrics({
  workersConnected: () => 0,
  openJobs: async () => 0,
  waitingRequests: () => 0,
});

function flow(coordinator: Coordinator, hubBroker: Broker): WorkFlow {
  const accounting = new Accounting(ledger, hubBroker, logger);
  const penalties = new WorkerPenalties(DEFAULT_PENALTIES);
  return new WorkFlow({
    broker: hubBroker,
    coordinator,
    accounting,
    penalties,
    metrics,
    logger,
    options: { jobGraceMs: 1000 },
  });
}

const request = () => ({ hash: randomHash(), difficulty: 1n, timeoutMs: 200, service: "svc" });

describe("a request's timeout covers the whole request", () => {
  it("answers timeout when the cache look-up never returns", async () => {
    const outcome = await flow(stalled("cachedWork"), broker()).work(request());
    expect(outcome).toEqual({ kind: "timeout" });
  });

  it("answers timeout when opening the job never returns", async () => {
    const outcome = await flow(stalled("openJob"), broker()).work(request());
    expect(outcome).toEqual({ kind: "timeout" });
  });

  it("answers timeout when the job's publish never completes", async () => {
    let published = 0;
    const hanging = broker(() => {
      published += 1;
      return never;
    });
    const outcome = await flow(new MemoryCoordinator(), hanging).work(request());
    expect(outcome).toEqual({ kind: "timeout" });
    expect(published).toBe(1);
  });

  it("answers timeout when the request is aborted before the look-up returns", async () => {
    const controller = new AbortController();
    const pending = flow(stalled("cachedWork"), broker()).work({
      ...request(),
      timeoutMs: 3_600_000,
      signal: controller.signal,
    });
    controller.abort();
    expect(await pending).toEqual({ kind: "timeout" });
  });
});

describe("a service request's timeout covers its service's look-up", () => {
  it("answers Service unavailable when the look-up outlasts the timeout", async () => {
    const api = new ServiceApi({
      directory: { authenticate: () => never } as unknown as ServiceDirectory,
      limiter: new RateLimiter(),
      policy: new DifficultyPolicy(0xffff000000000000n, 8),
      flow: flow(new MemoryCoordinator(), broker()),
      counters: new ServiceCounters(ledger),
      metrics,
      logger,
    });
    const answer = await api.handle(
      JSON.stringify({ user: "svc", api_key: "k", hash: randomHash(), timeout: 1 }),
    );
    expect(answer.outcome).toBe("unavailable");
    expect(answer.body).toMatchObject({ error: expect.stringMatching(/^Service unavailable/) });
  });
});
