/**
 * Browser kernel benchmark: the browser worker's WASM pool (src/web/worker/kernels) in headless
 * Chromium on one thread and on every thread, beside the CLI's WASM kernel on one thread of this
 * process, interleaved run by run. All rates are in wall time (a browser offers no CPU clock), so
 * load from elsewhere on the machine lowers every figure alike. Goals (issue 12): all threads at
 * least 0.9 x threads x one thread; one browser thread at least 0.9 x the CLI's WASM kernel.
 */

import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { WEB_BUILD_DIR, WebPages } from "../hub/web-pages.js";
import { U64_MAX } from "../nano/hex.js";
import { compileKernelModule, wasmKernel } from "../pow/wasm/wasm-kernel.js";
import { type BenchContext, type BenchSection, median } from "./section.js";

/**
 * Chromium headless as root, kept off the network: without the background-networking flags it
 * reaches out to Google's hosts at every start, which a closed machine refuses, many at a time.
 */
export const HEADLESS_CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** Where a Chromium may be: DPOW_CHROMIUM first, then the usual Linux package paths. */
function chromiumPath(): string {
  const candidates = [process.env.DPOW_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  const found = candidates.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
  if (found === undefined) {
    throw new Error("no Chromium found: install chromium, or set DPOW_CHROMIUM to its executable");
  }
  return found;
}

interface BrowserRate {
  kernel: string;
  threads: number;
  mhs: number;
}

interface BenchPage {
  rate(threads: number, seconds: number): Promise<BrowserRate>;
  threads: number;
  close(): Promise<void>;
}

/** The bench page of the build, served on loopback, open in headless Chromium. */
async function openBenchPage(): Promise<BenchPage> {
  if (!existsSync(join(WEB_BUILD_DIR, "bench", "index.html"))) {
    throw new Error("the browser bench page is not built: run `npm run build` first");
  }
  let playwright: typeof import("playwright-core");
  try {
    playwright = await import("playwright-core");
  } catch {
    throw new Error("playwright-core is not installed (it is a devDependency): run `npm install`");
  }
  const pages = new WebPages(WEB_BUILD_DIR, { "/bench": "bench/index.html" });
  const server = createServer((req, res) => {
    if (!pages.serve(new URL(req.url ?? "/", "http://x").pathname, req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const browser = await playwright.chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: HEADLESS_CHROMIUM_ARGS,
  });
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/bench`);
  type Bench = { rate(t: number, s: number): Promise<BrowserRate>; threads(): number };
  await page.waitForFunction(() => (globalThis as { dpowBench?: unknown }).dpowBench !== undefined);
  const threads = await page.evaluate(() =>
    (globalThis as unknown as { dpowBench: Bench }).dpowBench.threads(),
  );
  return {
    threads,
    rate: (t, s) =>
      page.evaluate(
        ([threads, seconds]) =>
          (globalThis as unknown as { dpowBench: Bench }).dpowBench.rate(
            threads as number,
            seconds as number,
          ),
        [t, s],
      ),
    close: async () => {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The CLI's WASM kernel on this thread, in wall time like the browser's figures. */
function cliWasmRate(seconds: number): number {
  const kernel = wasmKernel(compileKernelModule());
  const root = randomBytes(32);
  const batch = 1 << 16;
  let hashed = 0;
  const began = performance.now();
  while (performance.now() - began < seconds * 1000) {
    kernel.search(root, BigInt(hashed), batch, U64_MAX);
    hashed += batch;
  }
  return hashed / (performance.now() - began) / 1000;
}

const fmt = (mhs: number) => `${mhs.toFixed(2)} MH/s`;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

async function run(context: BenchContext): Promise<Record<string, unknown>> {
  const page = await openBenchPage();
  try {
    const { threads } = page;
    // Warm-up, not counted: threads start, kernels compile and tier up to optimised code.
    cliWasmRate(0.3);
    await page.rate(1, 0.3);
    await page.rate(threads, 0.3);
    const samples = { cli: [] as number[], one: [] as number[], all: [] as number[] };
    let kernel = "";
    for (let round = 0; round < context.runs; round++) {
      samples.cli.push(cliWasmRate(context.seconds));
      const one = await page.rate(1, context.seconds);
      samples.one.push(one.mhs);
      kernel = one.kernel.replace(/ x\d+$/, "");
      samples.all.push((await page.rate(threads, context.seconds)).mhs);
    }
    const cli = median(samples.cli);
    const one = median(samples.one);
    const all = median(samples.all);
    const vsCli = one / cli;
    const scaling = all / (threads * one);
    context.log(`  CLI WASM kernel, 1 thread (Node.js)   ${fmt(cli)}`);
    context.log(
      `  browser ${kernel}, 1 thread           ${fmt(one)}  ${vsCli.toFixed(2)}x the CLI's (goal >= 0.9x)`,
    );
    context.log(
      `  browser ${kernel}, ${threads} threads          ${fmt(all)}  ${scaling.toFixed(2)}x ${threads} x one thread (goal >= 0.9x)`,
    );
    return {
      browser_kernel: kernel,
      browser_threads: threads,
      browser_wasm_1t_mhs: round(one),
      browser_wasm_all_mhs: round(all),
      cli_wasm_1t_mhs: round(cli),
      browser_1t_vs_cli_ratio: round(vsCli),
      browser_all_vs_threads_ratio: round(scaling),
    };
  } finally {
    await page.close();
  }
}

export const browserSection: BenchSection = {
  name: "browser",
  title: "Browser worker kernels: WASM in headless Chromium vs the CLI's WASM kernel",
  run,
};
