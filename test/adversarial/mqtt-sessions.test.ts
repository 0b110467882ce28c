/**
 * Against the spawned `dpow server`: persistent MQTT sessions as the original Python worker uses
 * them (issue 11: `clean: false`, subscribe once, never again), across a hub restart and while the
 * worker is offline; and attack 3 of the hardening issue (endless connect-subscribe-disconnect
 * cycles under fresh client ids) bounded by the session limit and expiry.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { parseU64 } from "../../src/nano/hex.js";
import { parseHash, workValue } from "../../src/nano/index.js";
import { formatResultPayload, parseWorkPayload, topics } from "../../src/protocol/topics.js";
import { runCli } from "../helpers/cli.js";
import { newPayout, solve } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
  waitForValue,
} from "../helpers/hub-process.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return dir;
}

async function hub(db: string, args: string[] = []): Promise<HubProcess> {
  const started = await spawnHub(db, args);
  cleanups.push(() => started.stop());
  return started;
}

function addService(db: string): { user: string; api_key: string } {
  const added = runCli(["service", "add", "svc", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  return JSON.parse(added.stdout) as { user: string; api_key: string };
}

/**
 * The original DPoW worker: a fixed client id, `clean: false`, one subscription at its first
 * connect and never again (MQTT.js's own resubscribe is off), reconnecting by itself; it solves
 * every job honestly.
 */
class OriginalWorker {
  readonly jobs: string[] = [];
  heartbeats = 0;
  readonly client: MqttClient;
  private readonly wakers = new Set<() => void>();

  constructor(
    mqttPort: number,
    readonly clientId = `py-${randomBytes(4).toString("hex")}`,
    readonly payout = newPayout(),
  ) {
    this.client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, {
      username: "client",
      password: "client",
      clientId,
      clean: false,
      resubscribe: false,
      reconnectPeriod: 200,
    });
    this.client.once("connect", () => {
      this.client.subscribe(
        {
          "work/#": { qos: 1 },
          "cancel/#": { qos: 1 },
          heartbeat: { qos: 0 },
          [topics.client(this.payout)]: { qos: 1 },
        },
        () => this.wake(),
      );
    });
    this.client.on("message", (topic, payload) => this.onMessage(topic, payload));
    cleanups.push(() => this.client.endAsync(true));
  }

  private onMessage(topic: string, payload: Buffer): void {
    if (topic === "heartbeat") this.heartbeats++;
    if (topic.startsWith("work/")) {
      const job = parseWorkPayload(payload);
      if (job.ok) {
        this.jobs.push(job.value.hash);
        const work = solve(job.value.hash, job.value.difficulty);
        const result = formatResultPayload({ hash: job.value.hash, work, address: this.payout });
        this.client.publish(topics.result(topic === "work/precache" ? "precache" : "ondemand"), result, {
          qos: 1,
        });
      }
    }
    this.wake();
  }

  private wake(): void {
    for (const wake of this.wakers) wake();
  }

  until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.wakers.delete(wake);
        reject(new Error(`original worker: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.wakers.add(wake);
      wake();
    });
  }
}

async function expectValidWork(hub: HubProcess, service: { user: string; api_key: string }, hash: string) {
  const { json } = await postWork(hub, { ...service, hash, timeout: 20 });
  expect(json.error).toBeUndefined();
  const value = workValue(parseHash(hash), parseU64(json.work, "work"));
  expect(value >= parseU64(TEST_DIFFICULTY, "difficulty") / 64n).toBe(true);
}

const randomHash = () => randomBytes(32).toString("hex").toUpperCase();

describe("adversarial: persistent MQTT sessions on the spawned hub", () => {
  it("issue 11: the original worker, subscribed once, still gets heartbeats and jobs after a hub restart", async () => {
    const db = join(folder(), "hub.db");
    const service = addService(db);
    const first = await hub(db);
    const worker = new OriginalWorker(first.mqttPort);
    await worker.until("heartbeat", () => worker.heartbeats > 0);
    await expectValidWork(first, service, randomHash());
    await first.stop();

    const second = await hub(db, ["--mqtt-port", String(first.mqttPort)]);
    const before = worker.heartbeats;
    await worker.until("heartbeat from the restarted hub", () => worker.heartbeats > before);
    const hash = randomHash();
    await expectValidWork(second, service, hash);
    expect(worker.jobs).toContain(hash);
  });

  it("a worker offline during broadcasts gets those jobs when it reconnects", async () => {
    const db = join(folder(), "hub.db");
    const service = addService(db);
    const running = await hub(db);
    const worker = new OriginalWorker(running.mqttPort);
    await worker.until("heartbeat", () => worker.heartbeats > 0);
    await worker.client.endAsync();
    const missed = [randomHash(), randomHash(), randomHash()];
    for (const hash of missed) {
      const { json } = await postWork(running, { ...service, hash, timeout: 1 });
      expect(json.timeout).toBe(true);
    }
    const back = new OriginalWorker(running.mqttPort, worker.clientId, worker.payout);
    await back.until("the missed jobs", () => missed.every((hash) => back.jobs.includes(hash)));
  });

  it("with --mqtt-job-qos 0 jobs go out once, as the original's: an offline worker gets only later ones", async () => {
    const db = join(folder(), "hub.db");
    const service = addService(db);
    const running = await hub(db, ["--mqtt-job-qos", "0"]);
    const worker = new OriginalWorker(running.mqttPort);
    await worker.until("heartbeat", () => worker.heartbeats > 0);
    await worker.client.endAsync();
    const missed = randomHash();
    expect((await postWork(running, { ...service, hash: missed, timeout: 1 })).json.timeout).toBe(true);
    const back = new OriginalWorker(running.mqttPort, worker.clientId, worker.payout);
    await back.until("heartbeat", () => back.heartbeats > 0);
    const later = randomHash();
    await expectValidWork(running, service, later);
    // Deliveries keep their order: had the missed job been queued, it would have come first.
    expect(back.jobs).toEqual([later]);
  });

  it("attack 3: 2,000 connect-subscribe-disconnect cycles under fresh ids are bounded, then expire", async () => {
    const db = join(folder(), "hub.db");
    const running = await hub(db, ["--mqtt-max-sessions", "200", "--mqtt-session-expiry", "3s"]);
    const rss = () =>
      Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${running.child.pid}/status`, "utf8"))?.[1]) * 1024;
    const before = rss();
    const sessionsFile = `${db}.mqtt-sessions`;
    const kept = () => {
      const file = new Database(sessionsFile, { readonly: true });
      const { n } = file.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number };
      file.close();
      return n;
    };
    let next = 0;
    const cycle = async () => {
      while (next < 2000) {
        const id = `attacker-${next++}`;
        const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, {
          username: "client",
          password: "client",
          clientId: id,
          clean: false,
          reconnectPeriod: 0,
        });
        await c.subscribeAsync({
          "work/#": { qos: 1 },
          "cancel/#": { qos: 1 },
          [`client/${id}`]: { qos: 1 },
        });
        await c.endAsync();
      }
    };
    await Promise.all(Array.from({ length: 8 }, cycle));
    expect(kept()).toBeLessThanOrEqual(200);
    const grown = rss() - before;
    console.log(`attack 3: 2,000 cycles, ${kept()} sessions kept, RSS +${(grown / 2 ** 20).toFixed(1)} MiB`);
    expect(grown).toBeLessThan(100 * 2 ** 20);
    await waitForValue(
      "sessions kept",
      async () => kept(),
      (n) => n === 0,
      30_000,
    );
    await running.waitForLog("sessions dropped", (line) =>
      /MQTT persistent sessions dropped/.test(line.msg ?? ""),
    );
  }, 120_000);
});
