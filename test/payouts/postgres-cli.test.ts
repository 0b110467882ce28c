import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresLedger } from "../../src/hub/ledger/postgres.js";
import { PostgresPayoutStore } from "../../src/payouts/postgres-store.js";
import { NANO, NanoNodeSimulator } from "../fixtures/nano-node/index.js";
import { serviceAvailable } from "../helpers/services.js";
import { type PostgresSchema, postgresSchema } from "../hub/contract/stores.js";
import { recordSeedWins, runCli } from "./cli-helpers.js";

const WORKERS = 5;
const BUDGET = 3n * NANO + 11n;

describe.runIf(await serviceAvailable("postgres"))("dpow payouts over a PostgreSQL ledger", () => {
  let schema: PostgresSchema;
  let sim: NanoNodeSimulator;
  let dir: string;

  beforeAll(async () => {
    schema = await postgresSchema();
    const ledger = await PostgresLedger.connect(schema.url);
    await recordSeedWins(ledger, WORKERS);
    await ledger.close();
    sim = await NanoNodeSimulator.start({ funded: [10n * NANO] });
    dir = mkdtempSync(join(tmpdir(), "dpow-payouts-pg-"));
  });
  afterAll(async () => {
    await sim?.close();
    await schema?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("plans from the wins the hub recorded and pays every worker its share exactly once", async () => {
    const file = join(dir, "plan.json");
    const planned = await runCli([
      "payouts",
      "plan",
      "--postgres",
      schema.url,
      "--budget",
      BUDGET.toString(),
      "--out",
      file,
      "--json",
    ]);
    expect(planned.stderr).toBe("");
    const plan = JSON.parse(planned.stdout) as {
      id: string;
      payments: Array<{ worker: string; amount: string }>;
    };
    expect(plan.payments).toHaveLength(WORKERS);
    const source = sim.funded[0];
    if (!source) throw new Error("no funded account");
    const args = [
      "payouts",
      "run",
      file,
      "--postgres",
      schema.url,
      "--node",
      sim.rpcUrl,
      "--wallet",
      sim.createWallet([source]),
      "--source",
      source.address,
      "--yes",
      "--json",
    ];
    expect(JSON.parse((await runCli(args)).stdout).outcome).toBe("complete");
    expect(JSON.parse((await runCli(args)).stdout).outcome).toBe("already-complete");

    const sends = new Map<string, bigint[]>();
    for (const b of sim.ledger.blocks.values()) {
      if (b.block.account !== source.address || b.subtype !== "send" || b.height === 1) continue;
      sends.set(b.block.link_as_account, [...(sends.get(b.block.link_as_account) ?? []), b.amount]);
    }
    expect(sends.size).toBe(WORKERS);
    for (const p of plan.payments) expect(sends.get(p.worker)).toEqual([BigInt(p.amount)]);
    const store = await PostgresPayoutStore.connect(schema.url);
    try {
      expect((await store.plan(plan.id))?.status).toBe("complete");
      // Paid work is not planned again.
      expect((await store.unpaidWork()).workers.map((w) => w.worker)).toEqual([
        "nano_1thisisnotavalidaddress",
      ]);
    } finally {
      await store.close();
    }
  });

  it("refuses a malformed --postgres and --postgres with an explicit --db", async () => {
    const malformed = await runCli(["payouts", "history", "--postgres", "localhost:5432"]);
    expect(malformed.stderr).toMatch(/--postgres must be a URL starting with postgres:\/\//);
    const both = await runCli(["payouts", "history", "--postgres", schema.url, "--db", join(dir, "x.db")]);
    expect(both.stderr).toMatch(/'--postgres <url>' cannot be used with option '--db <file>'/);
    expect(both.code).not.toBe(0);
  });
});
