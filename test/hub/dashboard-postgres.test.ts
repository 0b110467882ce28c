/**
 * The dashboard's history on a PostgreSQL ledger, with two replicas of the real CLI hub: each
 * writes rollups of its own, both read the sums, and the sums outlive the replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { History, Summary } from "../../src/protocol/dashboard.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";
import { serviceAvailable } from "../helpers/services.js";
import { type PostgresSchema, postgresSchema } from "./contract/stores.js";

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function json<T>(hub: HubProcess, path: string): Promise<T> {
  const res = await fetch(hub.url(path));
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** Polls the summary until `done` holds (rollups are written every two seconds). */
async function summaryUntil(hub: HubProcess, done: (s: Summary) => boolean): Promise<Summary> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const summary = await json<Summary>(hub, "/api/v1/summary");
    if (done(summary)) return summary;
    if (Date.now() > deadline) throw new Error(`summary still ${JSON.stringify(summary.last_hour)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.runIf(await serviceAvailable("postgres"))("dashboard history on PostgreSQL", () => {
  const temp = tempDir();
  let schema: PostgresSchema;
  let service: { user: string; api_key: string };
  const hubs: HubProcess[] = [];
  const workers: FakeWorker[] = [];

  beforeAll(async () => {
    schema = await postgresSchema();
    const added = runCli(["service", "add", "pg", "--rate", "0", "--postgres", schema.url, "--json"]);
    expect(added.status, added.stderr).toBe(0);
    service = JSON.parse(added.stdout);
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    for (const h of hubs) await h.stop();
    await schema?.drop();
    temp.remove();
  });

  const start = async (replica: string) => {
    const hub = await spawnHub(`${temp.dir}/${replica}.db`, [
      "--postgres",
      schema.url,
      "--replica-id",
      replica,
    ]);
    hubs.push(hub);
    workers.push(await FakeWorker.connect(hub.mqttPort, { auto: true }));
    return hub;
  };

  it("sums the replicas' rollups, and keeps them after both stop", async () => {
    const [a, b] = [await start("a"), await start("b")];
    for (const hub of [a, a, a, b, b]) {
      const { json: answer } = await postWork(hub, { ...service, hash: randomHash() });
      expect(answer.work, JSON.stringify(answer)).toBeDefined();
    }
    // Each replica sees all five, written by two.
    for (const hub of [a, b]) await summaryUntil(hub, (s) => s.last_hour.ondemand === 5);
    const replicas = await schema.query<{ replica: string }>(
      "SELECT DISTINCT replica FROM dashboard_rollups ORDER BY replica",
    );
    expect(replicas.map((r) => r.replica)).toEqual(["a", "b"]);

    for (const hub of hubs.splice(0)) await hub.stop();
    const again = await start("c");
    for (const range of ["1h", "24h", "30d"]) {
      const history = await json<History>(again, `/api/v1/history?range=${range}`);
      expect(sum(history.ondemand), range).toBe(5);
    }
    const summary = await json<Summary>(again, "/api/v1/summary");
    expect(summary.period.ondemand).toBe(5);
  });
});
