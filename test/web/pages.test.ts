/**
 * The hub serves its two pages from the build: strict headers, cacheable assets, revalidated pages,
 * nothing from the file system beyond the build's own names, and Chromium renders both under the
 * Content-Security-Policy without a single violation.
 */
import { get } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserAvailable, launchBrowser } from "../helpers/browser.js";
import { type HubProcess, spawnHub, tempDir } from "../helpers/hub-process.js";

const temp = tempDir();
let hub: HubProcess;

beforeAll(async () => {
  hub = await spawnHub(join(temp.dir, "hub.db"));
});

afterAll(async () => {
  await hub?.stop();
  temp.remove();
});

/** GET with the path sent as written (fetch would resolve the dot segments first). */
function rawStatus(path: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port: hub.httpPort, path }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
}

describe("web pages", () => {
  it("serves / and /worker with a strict policy, and hashed assets for a year", async () => {
    for (const path of ["/", "/worker", "/worker/"]) {
      const res = await fetch(hub.url(path));
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
      expect(html).not.toMatch(/https?:\/\//); // nothing from another host
      const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(asset, `${path} loads a script`).toBeDefined();
      const script = await fetch(hub.url(asset as string));
      expect(script.status).toBe(200);
      expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(script.headers.get("cache-control")).toContain("immutable");
    }
  });

  it("answers a repeated page load with 304, and HEAD without a body", async () => {
    const first = await fetch(hub.url("/"));
    const etag = first.headers.get("etag") as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(hub.url("/"), { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const head = await fetch(hub.url("/worker"), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("serves nothing outside the build", async () => {
    for (const path of [
      "/assets/../../package.json",
      "/assets/%2e%2e/index.html",
      "/assets/nope.js",
      "/src/web/index.html",
    ]) {
      expect(await rawStatus(path), path).toBe(404);
    }
    const post = await fetch(hub.url("/"), { method: "POST", body: "{}" });
    expect(post.status).toBe(404);
  });

  it.runIf(browserAvailable())("renders both pages in Chromium with no policy violation", async () => {
    const browser = await launchBrowser();
    try {
      for (const path of ["/", "/worker"]) {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(e.message));
        await page.goto(hub.url(path));
        await page.locator("h1").first().waitFor();
        expect(problems, path).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
