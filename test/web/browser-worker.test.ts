/**
 * The browser worker end to end: a real hub (the CLI) with no other worker, and Chromium opening the
 * bookmarkable link `/worker?payout=ADDR&start=1`. It solves every request of a batch with valid work,
 * is credited for each (the page shows the hub's counters and the period share), shows the hub's
 * errors, keeps working after the hub restarts on the same port, leaves no broker session behind
 * when the page is reloaded, and the page is photographed for the README (and fits a phone).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import mqtt from "mqtt";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publicKeyToAddress } from "../../src/nano/account.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { browserAvailable, launchBrowser } from "../helpers/browser.js";
import { type HubProcess, postWork, spawnHub, tempDir } from "../helpers/hub-process.js";
import { freePort } from "../helpers/ports.js";
import { addService } from "../helpers/service-clients.js";

const BATCH = 6;
/** Page loads that must not leave a broker session each. */
const RELOADS = 5;
const temp = tempDir();
const db = join(temp.dir, "hub.db");
const payout = publicKeyToAddress(randomBytes(32));
/** The embedded broker's `dpowserver` password: the test speaks as the hub on `client/ADDRESS`. */
const SERVER_PASSWORD = randomBytes(12).toString("hex");
// Both ports fixed: with --mqtt-port 0 the broker, which listens first, could be given `port`.
const hubArgs = () => [
  "--port",
  String(port),
  "--mqtt-port",
  String(mqttPort),
  "--server-password",
  SERVER_PASSWORD,
];
let port: number;
let mqttPort: number;
let hub: HubProcess;
let browser: Browser;
let page: Page;
let service: { user: string; api_key: string };
/** Errors in the page's console (a policy violation, an exception), until the hub is restarted. */
const consoleErrors: string[] = [];

async function requestBatch(count: number): Promise<void> {
  const hashes = Array.from({ length: count }, () => randomBytes(32).toString("hex").toUpperCase());
  const answers = await Promise.all(
    hashes.map((hash) => postWork(hub, { ...service, hash, timeout: 20 }).then((a) => ({ hash, ...a }))),
  );
  for (const { hash, json } of answers) {
    expect(json.error, `${hash}: ${JSON.stringify(json)}`).toBeUndefined();
    const value = workValue(parseHash(hash), parseU64(json.work, "work"));
    expect(value >= parseU64(json.difficulty, "difficulty"), hash).toBe(true);
  }
}

const figure = (id: string) => page.getByTestId(id);
/** The page's DOM, as far as the function below runs in it (this project's Node typings have no DOM). */
type PageGlobal = { document: { querySelector(selector: string): { textContent: string | null } | null } };

/** Persistent MQTT sessions the hub keeps now, online and offline: the rows of its sessions file. */
function keptSessions(): number {
  const file = new Database(`${db}.mqtt-sessions`, { readonly: true, fileMustExist: true });
  try {
    return (file.prepare("SELECT count(*) AS n FROM sessions").get() as { n: number }).n;
  } finally {
    file.close();
  }
}

/** The width the page would scroll sideways by at the current viewport (0 when it fits). */
const sidewaysScroll = () =>
  page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");

/** Waits until the page figure `id` reads text matching `pattern`. */
const waitForFigure = (id: string, pattern: RegExp, timeout = 30_000) =>
  page.waitForFunction(
    ([testId, source]) => {
      const node = (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${testId}"]`);
      return new RegExp(source).test(node?.textContent ?? "");
    },
    [id, pattern.source] as const,
    { timeout },
  );

describe.runIf(browserAvailable())("browser worker", () => {
  beforeAll(async () => {
    port = await freePort();
    mqttPort = await freePort();
    service = addService(db, "wallet");
    hub = await spawnHub(db, hubArgs());
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1 });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(e.message));
    await page.goto(hub.url(`/worker?payout=${payout}&start=1`));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.stop();
    temp.remove();
  });

  it("starts from the link, solves every request of a batch with valid work and is credited", async () => {
    expect(await figure("address-check").textContent()).toBe("valid address, checksum included");
    await waitForFigure("state", /^hub online$/);
    await requestBatch(BATCH);
    await waitForFigure("won", new RegExp(`^${BATCH}$`));
    expect(await figure("credits").textContent()).toBe(`${BATCH} on-demand`);
    expect(await figure("credits-detail").textContent()).toBe("0 precache");
    // The only worker of the period holds all of it.
    expect(await figure("share").textContent()).toBe("100.0%");
    expect(await page.locator(".log .error").count()).toBe(0);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({
      path: join(import.meta.dirname, "../../docs/images/worker.png"),
      fullPage: true,
    });
    // A phone: everything fits its width, nothing to scroll sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await sidewaysScroll()).toBeLessThanOrEqual(0);
    await page.setViewportSize({ width: 1360, height: 900 });
  });

  it("links to the dashboard, and the dashboard links here", async () => {
    expect(await figure("dashboard-link").getAttribute("href")).toBe("/");
    const dashboard = await browser.newPage();
    try {
      await dashboard.goto(hub.url("/"));
      await dashboard.locator('header a[href="/worker"]').waitFor();
    } finally {
      await dashboard.close();
    }
  });

  it("shows an error the hub sends on client/ADDRESS, as text", async () => {
    const asHub = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, {
      username: "dpowserver",
      password: SERVER_PASSWORD,
      reconnectPeriod: 0,
    });
    try {
      const error = "Work accepted but <b>account</b> is invalid";
      await asHub.publishAsync(`client/${payout}`, JSON.stringify({ error }), { qos: 1 });
      await waitForFigure("hub-error", /account/);
      expect(await figure("hub-error").textContent()).toBe(`The hub says: ${error}`);
      expect(await figure("hub-error").locator("b").count()).toBe(0);
      await page.setViewportSize({ width: 390, height: 844 });
      expect(await sidewaysScroll()).toBeLessThanOrEqual(0);
      await page.setViewportSize({ width: 1360, height: 900 });
    } finally {
      await asHub.endAsync();
    }
  });

  it("keeps working after the hub restarts on the same port", async () => {
    await hub.stop();
    await waitForFigure("state", /reconnecting|waiting/);
    hub = await spawnHub(db, hubArgs());
    await waitForFigure("state", /^hub online$/, 60_000);
    await requestBatch(2);
    await waitForFigure("won", new RegExp(`^${BATCH + 2}$`));
    expect(await figure("credits").textContent()).toBe(`${BATCH + 2} on-demand`);
  }, 90_000);

  it("leaves no broker session behind when the page is reloaded", async () => {
    const before = keptSessions();
    // The measure can see a session: a persistent client (as the CLI worker is) adds one.
    const persistent = await mqtt.connectAsync(`mqtt://127.0.0.1:${hub.mqttPort}`, {
      username: "client",
      password: "client",
      clientId: `dpow-test-${randomBytes(4).toString("hex")}`,
      clean: false,
      reconnectPeriod: 0,
    });
    await persistent.subscribeAsync("heartbeat", { qos: 1 });
    await persistent.endAsync();
    expect(keptSessions()).toBe(before + 1);
    // The WASM kernel at once: the start-up benchmark is not what this measures.
    for (let load = 0; load < RELOADS; load++) {
      await page.goto(hub.url(`/worker?payout=${payout}&start=1&kernel=wasm`));
      await waitForFigure("state", /^hub online$/);
    }
    expect(keptSessions()).toBe(before + 1);
  }, 90_000);
});
