/**
 * The GPU kernels in Chromium, for correctness only (software rendering: their speed here means
 * nothing). Each is chosen on the page (`kernel=`), solves requests of a real hub with work the hub
 * and this test accept, and never claims work that does not check out (a wrong claim fails the job
 * and is logged as an error). WebGPU is tested where this Chromium exposes an adapter; where it does
 * not, the benchmark must report it unavailable and fall back to another kernel (both, on a machine
 * like this one, where only the unsafe-WebGPU flags give an adapter).
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
import { addService } from "../helpers/service-clients.js";

const SOFTWARE_GL = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"];
const SOFTWARE_WEBGPU = [
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--enable-features=Vulkan",
  ...SOFTWARE_GL,
];

const temp = tempDir();
const db = join(temp.dir, "hub.db");
const payout = publicKeyToAddress(randomBytes(32));
let hub: HubProcess;
let service: { user: string; api_key: string };

type PageGlobal = {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  navigator: { gpu?: { requestAdapter(): Promise<unknown> } };
};

function waitForFigure(page: Page, id: string, pattern: RegExp, timeout = 60_000) {
  return page.waitForFunction(
    ([testId, source]) => {
      const node = (globalThis as unknown as PageGlobal).document.querySelector(`[data-testid="${testId}"]`);
      return new RegExp(source).test(node?.textContent ?? "");
    },
    [id, pattern.source] as const,
    { timeout },
  );
}

/** Opens the worker page with `kernel`, waits for it to work, and has it solve `count` requests. */
async function solveWith(browser: Browser, kernel: string, count: number): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(hub.url(`/worker?payout=${payout}&kernel=${kernel}&start=1`));
  await waitForFigure(page, "state", /^hub online$/);
  expect(await page.getByTestId("kernel").textContent()).toBe(kernel);
  for (let i = 0; i < count; i++) {
    const hash = randomBytes(32).toString("hex").toUpperCase();
    const { json } = await postWork(hub, { ...service, hash, timeout: 30 });
    expect(json.error, JSON.stringify(json)).toBeUndefined();
    expect(
      workValue(parseHash(hash), parseU64(json.work, "work")) >= parseU64(json.difficulty, "difficulty"),
    ).toBe(true);
  }
  await waitForFigure(page, "done", new RegExp(`^${count}$`));
  expect(await page.locator(".log .error").allTextContents()).toEqual([]);
  return page;
}

describe.runIf(browserAvailable())("GPU kernels", () => {
  beforeAll(async () => {
    service = addService(db, "wallet");
    hub = await spawnHub(db);
  });

  afterAll(async () => {
    await hub?.stop();
    temp.remove();
  });

  it("WebGL2 computes valid work on software GL", async () => {
    const browser = await launchBrowser(SOFTWARE_GL);
    try {
      await solveWith(browser, "webgl2", 3);
    } finally {
      await browser.close();
    }
  }, 120_000);

  // Two browsers, so that both branches run where one offers an adapter and the other does not
  // (here: SwiftShader's Vulkan adapter with the unsafe-WebGPU flags, none without them).
  it.each([
    ["with the unsafe-WebGPU flags", SOFTWARE_WEBGPU],
    ["without them", SOFTWARE_GL],
  ])(
    "WebGPU computes valid work where the browser offers it, and is otherwise passed over (%s)",
    async (_, flags) => {
      const browser = await launchBrowser(flags);
      try {
        const probe = await browser.newPage();
        await probe.goto(hub.url("/worker"));
        const offered = await probe.evaluate(async () => {
          const gpu = (globalThis as unknown as PageGlobal).navigator.gpu;
          return gpu !== undefined && (await gpu.requestAdapter()) !== null;
        });
        await probe.close();
        if (offered) {
          await solveWith(browser, "webgpu", 3);
        } else {
          const page = await browser.newPage();
          await page.goto(hub.url(`/worker?payout=${payout}&start=1`));
          await waitForFigure(page, "state", /^hub online$/);
          expect(await page.locator('[data-kernel="webgpu"]').textContent()).toMatch(/not used \(WebGPU/);
          expect(await page.getByTestId("kernel").textContent()).not.toBe("webgpu");
        }
      } finally {
        await browser.close();
      }
    },
    120_000,
  );
});
