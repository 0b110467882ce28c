/**
 * Precache benchmark: how long a service waits for work at the live receive threshold when the
 * hub precached it, against on demand, measured in the same run on a real hub (embedded broker,
 * in-memory coordinator, in-memory ledger) with this machine's CPU worker on every core.
 */
import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import pino from "pino";
import { startEmbeddedBroker } from "../hub/broker/embedded.js";
import { MemoryCoordinator } from "../hub/coordinator/memory.js";
import { DifficultyPolicy } from "../hub/difficulty-policy.js";
import { startHub } from "../hub/hub.js";
import { SqliteLedger } from "../hub/ledger/sqlite.js";
import { addService } from "../hub/service-admin.js";
import { publicKeyToAddress } from "../nano/account.js";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../nano/difficulty.js";
import { formatU64, parseHash, parseU64 } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { createBackend } from "../pow/create-backend.js";
import { startWorker } from "../worker/index.js";
import { type BenchContext, type BenchSection, median } from "./section.js";

/** Requests timed per precached hash: a hit costs well under a millisecond, so one is noise. */
const HITS_PER_RUN = 50;

async function run(context: BenchContext): Promise<Record<string, unknown>> {
  const { seconds, runs, log } = context;
  const logger = pino({ level: "silent" });
  const broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
  const ledger = new SqliteLedger(":memory:");
  const coordinator = new MemoryCoordinator();
  const hub = await startHub({
    port: 0,
    host: "127.0.0.1",
    broker: { broker: broker.hub },
    coordinator,
    ledger,
    policy: new DifficultyPolicy(SEND_THRESHOLD, 8),
    logger,
    announcements: { heartbeatMs: 200, statisticsMs: 60_000 },
  });
  const threads = availableParallelism();
  const worker = await startWorker({
    payout: publicKeyToAddress(new Uint8Array(32)),
    server: `mqtt://client:client@127.0.0.1:${broker.port}`,
    backend: await createBackend("cpu", { threads }),
  });
  const { apiKey } = await addService(ledger, "bench", { rate: 0 });
  const url = `http://127.0.0.1:${hub.port}/service/`;

  /** One service request at the receive threshold; its latency in ms, after checking the work. */
  const timedRequest = async (hash: string): Promise<number> => {
    const began = performance.now();
    const response = await fetch(url, {
      method: "POST",
      body: JSON.stringify({
        user: "bench",
        api_key: apiKey,
        hash,
        difficulty: formatU64(RECEIVE_THRESHOLD),
      }),
    });
    const answer = (await response.json()) as { work?: string; error?: string };
    const ms = performance.now() - began;
    if (
      answer.work === undefined ||
      workValue(parseHash(hash), parseU64(answer.work, "work")) < RECEIVE_THRESHOLD
    ) {
      throw new Error(`the hub answered without valid work: ${answer.error ?? answer.work}`);
    }
    return ms;
  };

  const hits: number[] = [];
  const ondemand: number[] = [];
  try {
    await until(() => worker.status().hubOnline, 10_000, "the local worker to connect");
    for (let r = 0; r < runs; r++) {
      // Precache: the hub broadcasts a precache job, the worker solves it, the service asks later.
      const precached = randomHash();
      await hub.flow.precache(precached, RECEIVE_THRESHOLD, 60_000);
      await until(
        async () => (await coordinator.cachedWork(precached)) !== undefined,
        120_000,
        "precached work",
      );
      const runHits: number[] = [];
      for (let i = 0; i < HITS_PER_RUN; i++) runHits.push(await timedRequest(precached));
      hits.push(median(runHits));
      // On demand: fresh hashes for `seconds`, at least one.
      const began = performance.now();
      do ondemand.push(await timedRequest(randomHash()));
      while (performance.now() - began < seconds * 1000);
      log(`  run ${r + 1}/${runs} done`);
    }
  } finally {
    await worker.stop();
    await hub.close();
    await coordinator.close();
    await ledger.close();
    await broker.hub.close();
    await broker.close();
  }
  const hitMs = median(hits);
  const ondemandMs = median(ondemand);
  log(`  precache hit, receive threshold ${formatU64(RECEIVE_THRESHOLD)}   ${hitMs.toFixed(3)} ms`);
  log(
    `  on demand, same threshold, CPU worker on ${threads} threads   ${ondemandMs.toFixed(1)} ms (${ondemand.length} requests)  ${(ondemandMs / hitMs).toFixed(0)}x the hit`,
  );
  return {
    precache_hit_ms: Number(hitMs.toFixed(3)),
    precache_ondemand_ms: Number(ondemandMs.toFixed(1)),
    precache_ondemand_requests: ondemand.length,
    precache_speedup: Number((ondemandMs / hitMs).toFixed(0)),
    precache_worker_threads: threads,
  };
}

const randomHash = () => randomBytes(32).toString("hex").toUpperCase();

async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const precacheSection: BenchSection = {
  name: "precache",
  title: "Precache hit vs on demand",
  run,
};
