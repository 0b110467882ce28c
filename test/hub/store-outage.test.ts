import mqtt from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectExternalBroker, type ExternalBroker } from "../../src/hub/broker/mqtt-client.js";
import { PostgresLedger } from "../../src/hub/ledger/postgres.js";
import { isStoreOutage } from "../../src/hub/store-outage.js";
import { topics } from "../../src/protocol/topics.js";
import { inTransaction, openPostgresPool } from "../../src/sql/postgres.js";
import { type RunningMosquitto, startMosquitto } from "../broker/mosquitto.js";
import { newPayout, randomHash } from "../helpers/fake-worker.js";
import { waitForValue } from "../helpers/hub-process.js";
import { type OwnServer, ownServersAvailable, startPostgresServer } from "../helpers/own-servers.js";
import { serviceAvailable } from "../helpers/services.js";

/**
 * The hub's adapters for shared stores while a store is away, on private servers this test stops
 * and starts (the chaos run, `npm run chaos`, does the same under load): nothing waits for the
 * store to come back, and nothing that must not be lost is.
 */
const withMosquitto = await serviceAvailable("mosquitto");
const withPostgres = ownServersAvailable();

describe.runIf(withMosquitto)("external MQTT broker while Mosquitto restarts", () => {
  let mosquitto: RunningMosquitto;
  let broker: ExternalBroker;

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    const url = `mqtt://dpowserver:${mosquitto.passwords.dpowserver}@127.0.0.1:${mosquitto.mqttPort}`;
    broker = await connectExternalBroker(url, { reconnectPeriodMs: 100 });
  });

  afterAll(async () => {
    await broker?.close();
    await mosquitto?.dispose();
  });

  it("a publish while it is down returns without waiting, and the message goes out once it is back", async () => {
    await mosquitto.stop();
    // The broker's exit can be seen a turn before its socket's close: "down" is once the hub knows.
    await waitForValue(
      "the hub seeing the broker gone",
      async () => Number(broker.connected()),
      (n) => n === 0,
    );
    // Resolving at all is the point: before, this waited for the reconnection (a request's job
    // broadcast hung its service for as long as the broker was down).
    await broker.publish(topics.statistics, "held while down", { retain: true });
    expect(broker.connected()).toBe(false);
    await mosquitto.start();
    const observer = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, {
      username: "dpowinterface",
      password: mosquitto.passwords.dpowinterface,
      reconnectPeriod: 0,
    });
    try {
      // Retained, so the observer sees it whether it subscribed before or after the hub reconnected.
      const seen = new Promise<string>((resolve) =>
        observer.on("message", (_topic, payload) => resolve(payload.toString())),
      );
      await observer.subscribeAsync(topics.statistics);
      expect(await seen).toBe("held while down");
    } finally {
      await observer.endAsync(true);
    }
  });
});

describe.runIf(withPostgres)("PostgreSQL ledger while the database is stopped", () => {
  let postgres: OwnServer;
  let ledger: PostgresLedger;

  beforeAll(async () => {
    postgres = await startPostgresServer();
    ledger = await PostgresLedger.connect(postgres.url);
  }, 60_000);

  afterAll(async () => {
    await ledger?.close();
    await postgres?.dispose();
  });

  it("a win recorded while it is down is written once it is back, exactly once", async () => {
    const worker = newPayout();
    const win = {
      jobId: `job-${randomHash()}`,
      hash: randomHash(),
      type: "ondemand" as const,
      worker,
      service: null,
      difficulty: 0xf000000000000000n,
      work: 1n,
      at: Date.now(),
    };
    await postgres.stop();
    // The first attempts meet a closed port (refused at once); the server takes far longer to start.
    const pending = ledger.recordWin(win);
    await postgres.start();
    expect(await pending).toEqual({ recorded: true, counters: { precache: 0, ondemand: 1 } });
    expect(await ledger.recordWin(win)).toEqual({ recorded: false, counters: { precache: 0, ondemand: 1 } });
    expect(await ledger.workerCounters(worker)).toEqual({ precache: 0, ondemand: 1 });
  });

  it("a transaction whose connection the stopping server ends between statements fails; the process carries on", async () => {
    // pg emits `error` on a checked-out connection ended between two statements (57P01 from a
    // stopping server); without a listener that was an uncaught exception: the hub exited with 1.
    const pool = await openPostgresPool(postgres.url, 2);
    try {
      let inside!: () => void;
      const entered = new Promise<void>((resolve) => {
        inside = resolve;
      });
      const failed = inTransaction(pool, async (client) => {
        const ended = new Promise((resolve) => client.once("end", resolve));
        inside();
        await ended;
        return client.query("SELECT 1");
      }).then(
        () => undefined,
        (err: unknown) => err,
      );
      await entered;
      await postgres.stop();
      const failure = await failed;
      expect(failure).toBeDefined();
      expect(isStoreOutage(failure)).toBe(true);
      await postgres.start();
      // The broken connection was discarded: the pool serves again.
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });

  it("a read while it is down fails with an error services are told to retry after (not an internal error)", async () => {
    await postgres.stop();
    try {
      const failure = await ledger.solvedWork(randomHash()).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeDefined();
      expect(isStoreOutage(failure)).toBe(true);
      expect(isStoreOutage(new Error("a bug"))).toBe(false);
    } finally {
      await postgres.start();
    }
  });
});
