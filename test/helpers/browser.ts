import { existsSync } from "node:fs";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";
import { HEADLESS_CHROMIUM_ARGS } from "../../src/bench/browser.js";

/**
 * Debian's Chromium, driven by playwright-core. In CI (CI=true) a missing browser is a failure;
 * elsewhere the browser tests are skipped with the reason printed.
 */
export const CHROMIUM_BIN = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

export function browserAvailable(): boolean {
  if (CHROMIUM_BIN !== undefined) return true;
  const why = "Debian's chromium is not installed (apt-get install chromium)";
  if (process.env.CI === "true") throw new Error(`CI requires chromium, but ${why}`);
  console.warn(`skipping browser tests: ${why}`);
  return false;
}

/**
 * Headless Chromium (Playwright gives it a fresh, temporary profile), off the network as the
 * browser bench runs it: a test must not depend on a network.
 */
export function launchBrowser(args: string[] = []): Promise<Browser> {
  const options: LaunchOptions = {
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [...HEADLESS_CHROMIUM_ARGS, ...args],
  };
  return chromium.launch(options);
}
