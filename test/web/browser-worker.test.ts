/**
 * The browser worker end to end: a real hub (the CLI) with no other worker, and Chromium opening the
 * bookmarkable link `/worker?payout=ADDR&start=1`. It solves every request of a batch with valid work,
 * is credited for each (the page shows the hub's counters and the period share), keeps working after
 * the hub restarts on the same port, and the page is photographed for the README.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
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
const temp = tempDir();
const db = join(temp.dir, "hub.db");
const payout = publicKeyToAddress(randomBytes(32));
let port: number;
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
    service = addService(db, "wallet");
    hub = await spawnHub(db, ["--port", String(port)]);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 900, height: 900 } });
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
    expect(await figure("credits").textContent()).toBe(`${BATCH} on-demand, 0 precache`);
    // The only worker of the period holds all of it.
    expect(await figure("share").textContent()).toBe("100.0%");
    expect(await page.locator(".log .error").count()).toBe(0);
    expect(consoleErrors).toEqual([]);
    await page.screenshot({
      path: join(import.meta.dirname, "../../docs/images/worker.png"),
      fullPage: true,
    });
  });

  it("keeps working after the hub restarts on the same port", async () => {
    await hub.stop();
    await waitForFigure("state", /reconnecting|waiting/);
    hub = await spawnHub(db, ["--port", String(port)]);
    await waitForFigure("state", /^hub online$/, 60_000);
    await requestBatch(2);
    await waitForFigure("won", new RegExp(`^${BATCH + 2}$`));
    expect(await figure("credits").textContent()).toBe(`${BATCH + 2} on-demand, 0 precache`);
  }, 90_000);
});
