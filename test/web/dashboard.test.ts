/**
 * The dashboard end to end: the real CLI hub, a fake worker on its broker, service requests, and
 * Chromium showing the figures. What the page shows matches what the hub counted; the page never
 * receives a result, a job's hash or its work; the history outlives a restart; the live feed caps
 * its viewers.
 */
import { get, type IncomingMessage } from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { History, Summary } from "../../src/protocol/dashboard.js";
import { browserAvailable, launchBrowser } from "../helpers/browser.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, randomHash } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  metric,
  postWork,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
} from "../helpers/hub-process.js";
import { PageTraffic } from "./dashboard-traffic.js";

const temp = tempDir();
afterAll(() => temp.remove());

function addService(db: string, name: string, extra: string[] = []): { user: string; api_key: string } {
  const added = runCli(["service", "add", name, "--rate", "0", "--db", db, "--json", ...extra]);
  expect(added.status, added.stderr).toBe(0);
  return JSON.parse(added.stdout) as { user: string; api_key: string };
}

async function getJson<T>(hub: HubProcess, path: string): Promise<T> {
  const res = await fetch(hub.url(path));
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** Polls `read` until `done` holds (the dashboard's figures are written every two seconds). */
async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function figure(page: Page, name: string, timeoutMs = 40_000): Promise<string> {
  const locator = page.locator(`[data-figure="${name}"]`).first();
  await locator.waitFor({ timeout: timeoutMs });
  return (await locator.textContent()) ?? "";
}

/** Waits until the page shows `expected` for figure `name` (the live feed updates it every second). */
async function pageShows(page: Page, name: string, expected: string, timeoutMs = 40_000): Promise<void> {
  const locator = page.locator(`[data-figure="${name}"]`).first();
  const text = async () =>
    (await locator.count()) > 0 ? ((await locator.textContent()) ?? "").trim() : "absent";
  await eventually(`figure ${name}`, text, (shown) => shown === expected, timeoutMs);
}

describe.runIf(browserAvailable())("dashboard in Chromium", () => {
  const db = join(temp.dir, "figures.db");
  let hub: HubProcess;
  let worker: FakeWorker;
  let service: { user: string; api_key: string };

  beforeAll(async () => {
    service = addService(db, "wallet", [
      "--public",
      "--display",
      "Wallet",
      "--website",
      "https://wallet.example",
    ]);
    hub = await spawnHub(db);
    worker = await FakeWorker.connect(hub.mqttPort, { auto: true });
  });
  afterAll(async () => {
    await worker?.close();
    await hub?.stop();
  });

  it("shows the hub's own figures after a batch, and never a result, a hash or work", async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const traffic = await PageTraffic.watch(page);
      await page.goto(hub.url("/"));
      await page.locator('[data-figure="status"]').filter({ hasText: "online" }).waitFor();

      const hashes = Array.from({ length: 6 }, randomHash);
      const works: string[] = [];
      for (const hash of hashes) {
        const { json } = await postWork(hub, { ...service, hash });
        expect(json.work, JSON.stringify(json)).toMatch(/^[0-9a-f]{16}$/);
        works.push(json.work as string);
      }
      for (const hash of hashes.slice(0, 2)) {
        const { json } = await postWork(hub, { ...service, hash }); // solved already: from the cache
        expect(json.work).toBeDefined();
      }
      expect((await postWork(hub, { ...service, hash: "not hex" })).json.error).toMatch(/^Invalid hash/);

      // The hub's own counts, from its Prometheus metrics.
      const counted = {
        cache: await metric(hub, 'dpow_requests_total{outcome="cache"}'),
        ondemand: await metric(hub, 'dpow_requests_total{outcome="work"}'),
        error: await metric(hub, 'dpow_requests_total{outcome="bad_request"}'),
        wins: await metric(hub, 'dpow_results_total{outcome="win"}'),
        workers: await metric(hub, "dpow_workers_connected"),
      };
      expect(counted).toEqual({ cache: 2, ondemand: 6, error: 1, wins: 6, workers: 1 });

      await pageShows(page, "requests-hour", `${counted.cache + counted.ondemand + counted.error} requests`);
      await pageShows(page, "cache-hour", String(counted.cache));
      await pageShows(page, "ondemand-hour", String(counted.ondemand));
      await pageShows(page, "error-hour", String(counted.error));
      await pageShows(page, "timeout-hour", "0");
      await pageShows(page, "workers", String(counted.workers));
      await pageShows(page, "worker-credits", String(counted.wins));
      expect(await figure(page, "cache-share")).toBe("25%");
      const row = page.locator(`[data-worker="${worker.payout}"]`);
      await row.waitFor();
      expect(await row.locator("td").last().textContent()).toContain("100%");

      // The per-address view: its counters and its share of the period.
      await row.locator("a").click();
      await pageShows(page, "worker-address", worker.payout);
      await pageShows(page, "worker-period", String(counted.wins));
      await pageShows(page, "worker-lifetime", String(counted.wins));
      expect(await figure(page, "worker-share")).toBe("100%");
      expect(await figure(page, "worker-rank")).toBe("1 of 1");
      await page.goBack();
      await figure(page, "requests-hour");

      const seen = (await traffic.text()).toLowerCase();
      expect(traffic.frames.length).toBeGreaterThan(2);
      for (const secret of [...hashes, ...works]) expect(seen).not.toContain(secret.toLowerCase());
      expect(seen).not.toMatch(/[0-9a-f]{64}/); // no block hash of any kind
      // The only 16-hex figure a page gets is the base difficulty, which everybody knows.
      const sixteen = new Set(seen.match(/(?<![0-9a-z])[0-9a-f]{16}(?![0-9a-z])/g) ?? []);
      expect([...sixteen]).toEqual([TEST_DIFFICULTY]);
      expect(traffic.urls.every((u) => u.startsWith(hub.url("/")))).toBe(true); // nothing from elsewhere
      expect(traffic.problems).toEqual([]); // no CSP violation, no script error
      await traffic.detach();
    } finally {
      await browser.close();
    }
  }, 120_000);

  it("keeps the history through a restart", async () => {
    const before = await getJson<History>(hub, "/api/v1/history?range=1h");
    const total = sum(before.cache) + sum(before.ondemand) + sum(before.error);
    expect(total).toBe(9);
    await worker.close();
    await hub.stop();
    hub = await spawnHub(db);
    worker = await FakeWorker.connect(hub.mqttPort, { auto: true, payout: worker.payout });
    for (const range of ["1h", "24h", "30d"]) {
      const after = await getJson<History>(hub, `/api/v1/history?range=${range}`);
      expect(sum(after.ondemand), range).toBe(6);
      expect(sum(after.cache), range).toBe(2);
      expect(sum(after.error), range).toBe(1);
      expect(
        after.p50_ms.some((v) => v !== null),
        range,
      ).toBe(true);
    }
    const summary = await getJson<Summary>(hub, "/api/v1/summary");
    expect(summary.last_hour).toMatchObject({ cache: 2, ondemand: 6, error: 1, timeout: 0 });
    expect(summary.period.top[0]).toMatchObject({ address: worker.payout, ondemand: 6, share: 1 });
    expect(summary.services.public).toEqual([
      { display: "Wallet", website: "https://wallet.example", precache: 2, ondemand: 6 },
    ]);
  });

  it("answers bad paths, ranges and addresses with clear errors", async () => {
    const bad = await fetch(hub.url("/api/v1/history?range=1y"));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/range must be one of 1h, 24h, 30d/);
    const address = await fetch(hub.url("/api/v1/workers/nano_nope"));
    expect(address.status).toBe(400);
    expect((await fetch(hub.url("/api/v1/nothing"))).status).toBe(404);
    expect((await fetch(hub.url("/api/v1/summary"), { method: "POST", body: "{}" })).status).toBe(405);
  });
});

/** Opens the live feed from `localAddress`; resolves with the response (and its frames as they come). */
function openLive(
  hub: HubProcess,
  localAddress = "127.0.0.1",
): Promise<{ res: IncomingMessage; frames: string[]; close(): void; next(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port: hub.httpPort, path: "/api/v1/live", localAddress }, (res) => {
      const frames: string[] = [];
      const waiters: Array<() => void> = [];
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (frame.startsWith("id:")) frames.push(frame);
          end = buffer.indexOf("\n\n");
        }
        for (const wake of waiters.splice(0)) wake();
      });
      const next = () =>
        new Promise<string>((done) => {
          const count = frames.length;
          const check = () => (frames.length > count ? done(frames[count] as string) : waiters.push(check));
          check();
        });
      resolve({ res, frames, close: () => req.destroy(), next });
    });
    req.on("error", reject);
  });
}

describe("dashboard live feed", () => {
  let hub: HubProcess;
  beforeAll(async () => {
    hub = await spawnHub(join(temp.dir, "live.db"), ["--live-viewers", "3", "--live-viewers-per-ip", "2"]);
  });
  afterAll(() => hub?.stop());

  it("sends every viewer the same frames, and caps viewers per address and in all", async () => {
    const a = await openLive(hub);
    const b = await openLive(hub);
    expect(a.res.statusCode).toBe(200);
    expect(a.res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    // One frame per tick, computed once: both viewers get it byte for byte.
    while (a.frames.length < 3 || b.frames.length < 3) await Promise.race([a.next(), b.next()]);
    const frameA = a.frames.find((f) => b.frames.includes(f));
    expect(frameA, "a frame both viewers got").toBeDefined();
    expect(JSON.parse((frameA as string).split("data: ")[1] as string).hub.online).toBe(true);

    const third = await openLive(hub);
    expect(third.res.statusCode).toBe(429);
    third.close();
    const other = await openLive(hub, "127.0.0.2");
    expect(other.res.statusCode).toBe(200);
    const full = await openLive(hub, "127.0.0.3");
    expect(full.res.statusCode).toBe(503);
    full.close();

    // A viewer who leaves frees the place.
    a.close();
    await eventually(
      "a place freed",
      async () => {
        const again = await openLive(hub);
        again.close();
        return again.res.statusCode;
      },
      (status) => status === 200,
      10_000,
    );
    b.close();
    other.close();
  });
});
