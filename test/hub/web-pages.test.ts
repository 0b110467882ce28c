/**
 * The hub's web pages (src/hub/web-pages.ts) on a real node:http server: a hub started before the
 * build finds it later without a restart, pages carry their security headers, and no request path
 * reaches a file outside the build's map.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, WebPages } from "../../src/hub/web-pages.js";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function serve(pages: WebPages): Promise<string> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (!pages.serve(path, req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => server.close());
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

describe("web pages", () => {
  it("says the pages are not built, then serves them once they are, without a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "dpow-web-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const build = join(dir, "web");
    const base = await serve(new WebPages(build, {}, 0));
    const before = await fetch(`${base}/`);
    expect(before.status).toBe(503);
    expect(await before.text()).toMatch(/not built: run `npm run build`/);

    // Half a build (the page, not yet its script), then the rest: both are found.
    mkdirSync(join(build, "assets"), { recursive: true });
    writeFileSync(join(build, "index.html"), "<!doctype html><title>dpow</title>");
    writeFileSync(join(dir, "secret.txt"), "not for strangers");
    expect((await fetch(`${base}/assets/app-1234.js`)).status).toBe(404);
    writeFileSync(join(build, "assets", "app-1234.js"), "console.log(1)");
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe("<!doctype html><title>dpow</title>");
    expect(page.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.headers.get("cache-control")).toMatch(/immutable/);
    expect(await asset.text()).toBe("console.log(1)");
    for (const path of ["/assets/../../secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt", "/secret.txt"])
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
  });
});
