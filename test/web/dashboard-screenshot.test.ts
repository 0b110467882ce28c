/**
 * Writes docs/images/dashboard.png (the README's picture) from a hub with realistic figures: a
 * day and a month of history seeded into its rollups (a daily rhythm), public and private
 * services, several workers, a completed payout and work since.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ROLLUP_SCHEMA, SqlRollupStore } from "../../src/hub/dashboard/rollup-store.js";
import { LATENCY_BUCKETS_S } from "../../src/hub/metrics.js";
import type { RollupCounts } from "../../src/hub/ports.js";
import { buildPlan } from "../../src/payouts/plan.js";
import { SqlitePayoutStore } from "../../src/payouts/sqlite-store.js";
import { SqliteDatabase } from "../../src/sql/sqlite.js";
import { browserAvailable, launchBrowser } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash, solve } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";

const IMAGE = fileURLToPath(new URL("../../docs/images/dashboard.png", import.meta.url));
const temp = tempDir();
afterAll(() => temp.remove());

/** Requests of one step at time `t`: a daily rhythm (busiest mid-afternoon UTC) plus noise. */
function traffic(t: number, stepS: number, random: () => number): RollupCounts {
  const day = Math.sin(((t % 86_400) / 86_400) * 2 * Math.PI - 1.2) * 0.45 + 0.65;
  const perMinute = 110 * day * (0.8 + 0.4 * random());
  const scale = stepS / 60;
  const cache = Math.round(perMinute * 0.62 * scale);
  const ondemand = Math.round(perMinute * 0.36 * scale);
  const timeout = random() < 0.04 * scale ? 1 : 0;
  const error = random() < 0.08 * scale ? 1 : 0;
  // Cache hits within a millisecond; on-demand answers mostly 50-500 ms (a GPU at the send
  // difficulty), some slower.
  const slow = Math.round(ondemand * (0.05 + 0.05 * random()));
  const fast = ondemand - slow;
  const latency = new Array<number>(LATENCY_BUCKETS_S.length + 1).fill(0);
  latency.splice(0, 2, Math.round(cache * 0.9), cache - Math.round(cache * 0.9));
  latency.splice(6, 3, Math.round(fast * 0.55), fast - Math.round(fast * 0.55), slow);
  return { cache, ondemand, timeout, error, latency };
}

/** A seeded generator: the picture is the same at every run. */
function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

async function seedHistory(db: string): Promise<void> {
  const store = new SqlRollupStore(SqliteDatabase.open(db, "normal", [ROLLUP_SCHEMA]));
  const random = seeded(7);
  const now = Math.floor(Date.now() / 1000);
  const minute = now - (now % 60);
  const slot = now - (now % 10);
  // A month: one row per hour carries the hour's requests (the 30-day chart sums them per hour).
  for (let t = minute - 30 * 86_400; t < minute - 86_400; t += 3600)
    await store.add("seed", t, traffic(t, 3600, random));
  // A day, minute by minute; the last hour, slot by slot (the 1 h chart is per 10 s).
  for (let t = minute - 86_400; t < slot - 3600; t += 60) await store.add("seed", t, traffic(t, 60, random));
  for (let t = slot - 3600; t < slot; t += 10) await store.add("seed", t, traffic(t, 10, random));
  await store.close();
}

function addService(db: string, name: string, extra: string[]): { user: string; api_key: string } {
  const added = runCli(["service", "add", name, "--rate", "0", "--db", db, "--json", ...extra]);
  expect(added.status, added.stderr).toBe(0);
  return JSON.parse(added.stdout) as { user: string; api_key: string };
}

/** Pays every worker's work so far, as `dpow payouts` would (the blocks are made up: no node here). */
async function completePayout(db: string): Promise<void> {
  const store = new SqlitePayoutStore(db);
  try {
    const plan = buildPlan(await store.unpaidWork(), {
      budget: 12_500_000n * 10n ** 24n,
      minWorks: 1,
      exclude: [],
    });
    await store.savePlan(plan);
    for (const item of plan.items) {
      await store.markSending(plan.id, item.worker);
      await store.recordPayment(plan.id, item.worker, randomHash());
    }
    await store.completePlan(plan.id);
  } finally {
    await store.close();
  }
}

describe.runIf(browserAvailable())("dashboard screenshot", () => {
  let hub: HubProcess | undefined;
  const workers: FakeWorker[] = [];
  afterAll(async () => {
    for (const w of workers) await w.close();
    await hub?.stop();
  });

  it("writes docs/images/dashboard.png with realistic figures", async () => {
    const db = join(temp.dir, "hub.db");
    const services = [
      addService(db, "pocket", [
        "--public",
        "--display",
        "Pocket Wallet",
        "--website",
        "https://pocket.example",
      ]),
      addService(db, "tipbot", ["--public", "--display", "Tip Bot", "--website", "https://tipbot.example"]),
      addService(db, "faucet", ["--public", "--display", "Faucet"]),
      addService(db, "exchange", []),
      addService(db, "merchant", []),
    ];
    await seedHistory(db);
    hub = await spawnHub(db);
    for (let i = 0; i < 6; i++) workers.push(await FakeWorker.connect(hub.mqttPort));
    // Some workers are faster than others: each job goes to one picked by these odds.
    const odds = [9, 6, 4, 3, 2, 1];
    const random = seeded(11);
    const pick = () => {
      let ticket = random() * odds.reduce((a, b) => a + b, 0);
      let index = 0;
      while (index < odds.length - 1 && ticket >= (odds[index] as number)) ticket -= odds[index++] as number;
      return workers[index] as FakeWorker;
    };
    const request = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const service = services[i % services.length] as (typeof services)[number];
        const hash = randomHash();
        const answer = postWork(hub as HubProcess, { ...service, hash });
        const winner = pick();
        const job = await winner.waitForJob(hash);
        await winner.publishResult(hash, solve(hash, job.difficulty));
        expect((await answer).json.work).toBeDefined();
        if (i % 3 === 0) await postWork(hub as HubProcess, { ...service, hash }); // a retry: from the cache
      }
    };
    await request(40);
    await completePayout(db);
    await request(36);

    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
      await page.goto(hub.url("/"));
      await page
        .locator('[data-figure="last-payout"]')
        .filter({ hasText: "Last payout" })
        .waitFor({ timeout: 90_000 });
      await page.locator("[data-worker]").first().waitFor();
      // The day's rhythm shows best per minute over 24 h.
      await page.getByRole("button", { name: "24h" }).click();
      await page.locator("figcaption").filter({ hasText: "Requests per minute" }).waitFor();
      await page.locator(".chart-box canvas").nth(1).waitFor();
      mkdirSync(join(IMAGE, ".."), { recursive: true });
      await page.screenshot({ path: IMAGE, fullPage: true });
      // A phone: one column, nothing cut off sideways.
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
