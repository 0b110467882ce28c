/**
 * Subset fan-out through the whole hub (`dpow server` as launched, embedded broker): with most
 * workers silent (they take jobs and never answer), every request is still answered with valid
 * work, because an unsolved job escalates to more workers; and each cancel reaches exactly the
 * workers that got its job.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchServer, type RunningServer } from "../../src/hub/launch.js";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { addService } from "../../src/hub/service-admin.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";

const BASE = 0xff00000000000000n;
const SILENT = 9;
const HONEST = 1;

describe("subset fan-out through the hub", () => {
  let dir: string;
  let hub: RunningServer;
  let apiKey: string;
  const workers: FakeWorker[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "dpow-fanout-"));
    const db = join(dir, "hub.db");
    const ledger = new SqliteLedger(db);
    ({ apiKey } = await addService(ledger, "svc", { rate: 0 }));
    await ledger.close();
    hub = await launchServer({
      port: 0,
      host: "127.0.0.1",
      mqttPort: 0,
      db,
      base: BASE,
      maxMultiplier: 8,
      clientPassword: "client",
      mqtt: {
        sessionsFile: null,
        sessionExpiryMs: 60_000,
        maxSessions: 100,
        queueLimit: 100,
        maxConnectionsPerIp: 0,
        jobQos: 1,
        fanOut: { size: 2, escalateMs: 50 },
      },
      logger: pino({ level: "silent" }),
    });
    const port = hub.mqttPort as number;
    for (let i = 0; i < SILENT; i++) workers.push(await FakeWorker.connect(port));
    for (let i = 0; i < HONEST; i++) workers.push(await FakeWorker.connect(port, { auto: true }));
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = async (hash: string) => {
    const response = await fetch(`http://127.0.0.1:${hub.httpPort}/service/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user: "svc", api_key: apiKey, hash, timeout: 20 }),
    });
    return (await response.json()) as { work?: string; error?: string };
  };

  it("answers every request with valid work though most workers never answer", async () => {
    const hashes = Array.from({ length: 8 }, randomHash);
    const answers = await Promise.all(hashes.map(request));
    answers.forEach((answer, i) => {
      expect(answer.error).toBeUndefined();
      const hash = hashes[i] as string;
      expect(workValue(parseHash(hash), parseU64(answer.work as string, "work"))).toBeGreaterThanOrEqual(
        BASE,
      );
    });
    // Each cancel goes to those who got the job, and only to them.
    for (const hash of hashes) {
      const got = workers.filter((w) => w.jobs.some((j) => j.hash === hash));
      expect(got.length).toBeGreaterThanOrEqual(2);
      await Promise.all(got.map((w) => w.waitForCancel(hash)));
    }
    for (const w of workers)
      for (const hash of w.cancels) expect(w.jobs.some((j) => j.hash === hash)).toBe(true);
  });
});
