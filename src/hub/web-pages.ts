import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Serves the hub's web pages (the dashboard at `/`, the browser worker at `/worker`) from the Vite
 * build in `dist/web`. The files are read once, when found: they are small, and no request path
 * ever reaches the file system (only names in the map). A hub started before the build (or during
 * one) looks again when a page or asset it has not got is asked for, at most once every RECHECK_MS:
 * a stranger asking all the time makes the hub read the build no more often than that.
 */

/** Two levels above this file, from src/hub and from dist/hub alike: the package root. */
export const WEB_BUILD_DIR = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/**
 * No inline script or style, nothing from another origin. `wasm-unsafe-eval` lets the page compile
 * the PoW kernel; `blob:` workers are how a page starts its search threads.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** Hashed asset names never change content: cache for a year. Pages revalidate (ETag). */
const IMMUTABLE = "public, max-age=31536000, immutable";
const RECHECK_MS = 10_000;
const REVALIDATE = "no-cache";

interface WebFile {
  body: Buffer;
  headers: Record<string, string>;
}

/** URL paths of the pages, and the built file each one is. */
const PAGES: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/worker": "worker/index.html",
  "/worker/": "worker/index.html",
};

export class WebPages {
  private readonly files = new Map<string, WebFile>();
  private readonly pages: Record<string, string>;
  private lastLook: number;

  /**
   * `extraPages` adds URL paths beyond the hub's own (the browser bench serves its page so);
   * `recheckMs`: how often a missing build is looked for again (tests shorten it).
   */
  constructor(
    private readonly dir: string = WEB_BUILD_DIR,
    extraPages: Record<string, string> = {},
    private readonly recheckMs = RECHECK_MS,
  ) {
    this.pages = { ...PAGES, ...extraPages };
    this.lastLook = performance.now();
    this.load();
  }

  private load(): void {
    const dir = this.dir;
    this.files.clear();
    if (!existsSync(dir)) return;
    for (const file of listFiles(dir)) {
      const name = relative(dir, file).split(sep).join("/");
      const type = TYPES[extname(name)] ?? "application/octet-stream";
      const body = readFileSync(file);
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      const headers: Record<string, string> = {
        "content-type": type,
        "content-length": String(body.length),
        "cache-control": name.startsWith("assets/") ? IMMUTABLE : REVALIDATE,
        etag,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
      };
      if (name.endsWith(".html")) {
        headers["content-security-policy"] = CONTENT_SECURITY_POLICY;
        headers["x-frame-options"] = "DENY";
      }
      this.files.set(name, { body, headers });
    }
  }

  /** Whether the build was found (a checkout that skipped `npm run build` has none). */
  get built(): boolean {
    return this.files.size > 0;
  }

  /** Answers a GET or HEAD for a page or an asset; false when the path is none of them. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const page = this.pages[path];
    const name = page ?? (path.startsWith("/assets/") ? path.slice(1) : undefined);
    if (name === undefined) return false;
    // Not built yet, or built since (a name the last look did not see, e.g. a build half written).
    if (!this.files.has(name) && performance.now() - this.lastLook >= this.recheckMs) {
      this.lastLook = performance.now();
      this.load();
    }
    const file = this.files.get(name);
    if (!file) {
      if (page === undefined) return false;
      res
        .writeHead(503, { "content-type": "text/plain; charset=utf-8", "retry-after": "10" })
        .end(
          "The hub's web pages are not built: run `npm run build` in the hub's folder (the hub finds them within 10 s).\n",
        );
      return true;
    }
    if (req.headers["if-none-match"] === file.headers.etag) {
      res.writeHead(304, {
        etag: file.headers.etag ?? "",
        "cache-control": file.headers["cache-control"] ?? "",
      });
      res.end();
      return true;
    }
    res.writeHead(200, file.headers);
    res.end(req.method === "HEAD" ? undefined : file.body);
    return true;
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}
