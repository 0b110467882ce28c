/**
 * Attack 1 of issue 10 (framing), against the spawned `dpow server`: an attacker holding only the
 * public worker password reads the payout addresses on `client/#`, and for every job publishes 25
 * invalid results naming each victim's address. The hub used to charge those to the victims and
 * ignore them; now it charges the attacker's connection, drops it, and refuses its client id.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { parseWorkPayload } from "../../src/protocol/topics.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash, solve } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";

/** 4,096 hashes per job: an honest fake worker takes a few milliseconds, the attacker none. */
const BASE = "fff0000000000000";
const REQUESTS = 8;

const temp = tempDir();
let hub: HubProcess;
let ledger: SqliteLedger;
let credentials: { user: string; api_key: string };

/**
 * The attacker: on every job it sees, 25 results with random work per victim address, from one
 * connection; when dropped, it comes back under a new client id and goes on.
 */
class Attacker {
  readonly victims = new Set<string>();
  connections = 0;
  drops = 0;
  private client: MqttClient | null = null;
  private stopped = false;

  constructor(
    private readonly port: number,
    victims: string[],
  ) {
    for (const v of victims) this.victims.add(v);
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(
      `mqtt://127.0.0.1:${this.port}`,
      { username: "client", password: "client", reconnectPeriod: 0 },
      false,
    );
    this.client = client;
    this.connections++;
    client.on("close", () => {
      if (this.stopped) return;
      this.drops++;
      this.start().catch(() => {});
    });
    client.on("message", (topic, payload) => {
      if (topic.startsWith("client/")) this.victims.add(topic.slice("client/".length));
      if (topic !== "work/ondemand") return;
      const job = parseWorkPayload(payload);
      if (!job.ok) return;
      for (const victim of this.victims) {
        for (let i = 0; i < 25; i++) {
          const work = invalidWork(job.value.hash);
          client.publish("result/ondemand", `${job.value.hash},${work},${victim}`);
        }
      }
    });
    await client.subscribeAsync(["client/#", "work/ondemand"]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.endAsync(true);
  }
}

/**
 * Random work that misses the base: one random work in 4,096 meets it, and 400 tries a run would
 * then credit a victim, rightly, for a job the test meant the other worker to win.
 */
function invalidWork(hash: string): string {
  const base = parseU64(BASE, "base");
  for (;;) {
    const work = randomBytes(8).toString("hex");
    if (workValue(parseHash(hash), parseU64(work, "work")) < base) return work;
  }
}

beforeAll(async () => {
  const db = join(temp.dir, "hub.db");
  const added = runCli(["service", "add", "svc", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  hub = await spawnHub(db, ["--difficulty", BASE]);
  ledger = new SqliteLedger(db);
});

afterAll(async () => {
  await hub?.stop();
  await ledger?.close();
  temp.remove();
});

describe("attack 1: invalid results naming honest workers' payout addresses", () => {
  it("cannot get honest workers ignored: every request is answered with valid work, the victims are credited, the attacker is dropped", async () => {
    const honest = [await FakeWorker.connect(hub.mqttPort), await FakeWorker.connect(hub.mqttPort)];
    const attacker = new Attacker(
      hub.mqttPort,
      honest.map((w) => w.payout),
    );
    await attacker.start();
    try {
      for (let n = 0; n < REQUESTS; n++) {
        const hash = randomHash();
        const answer = postWork(hub, { ...credentials, hash, timeout: 20 });
        // The honest workers take turns, so each must be heard to get the requests answered.
        const turn = honest[n % 2] as FakeWorker;
        const job = await turn.waitForJob(hash);
        await turn.publishResult(hash, solve(hash, job.difficulty));
        const { status, json } = await answer;
        expect(status, JSON.stringify(json)).toBe(200);
        expect(workValue(parseHash(hash), parseU64(json.work, "work")) >= job.difficulty).toBe(true);
      }
      for (const w of honest) {
        expect((await ledger.workerCounters(w.payout)).ondemand).toBe(REQUESTS / 2);
      }
      expect(attacker.drops).toBeGreaterThanOrEqual(1);
      const drops = hub.logs.filter((l) => /too many invalid results/.test(l.msg ?? ""));
      expect(drops.length).toBeGreaterThanOrEqual(1);
      // One warning per connection dropped, never one per result.
      expect(drops.length).toBeLessThanOrEqual(attacker.connections);
      // After the attacker has gone, the victims are still heard and credited.
      await attacker.stop();
      const hash = randomHash();
      const answer = postWork(hub, { ...credentials, hash, timeout: 20 });
      const job = await (honest[0] as FakeWorker).waitForJob(hash);
      await (honest[0] as FakeWorker).publishResult(hash, solve(hash, job.difficulty));
      expect((await answer).status).toBe(200);
      await (honest[0] as FakeWorker).waitForFeedback("reward", (f) => f.block_rewarded === hash);
    } finally {
      await attacker.stop();
      for (const w of honest) await w.close();
    }
  });
});
