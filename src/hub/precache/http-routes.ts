import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_CONFIRMATION_BYTES } from "./confirmation.js";

/** What the HTTP routes of precache call into (see startPrecache). */
export interface PrecacheEndpoints {
  /** The body of a node HTTP callback; resolves with the error to answer, or null when taken. */
  callback(body: string): Promise<string | null>;
  secondsSinceBlock(): number;
}

const PATHS = new Set(["/block/", "/block", "/upcheck/blocks/", "/upcheck/blocks"]);
const JSON_HEADERS = { "content-type": "application/json" };

export function isPrecachePath(path: string): boolean {
  return PATHS.has(path);
}

/**
 * `POST /block/` (the node's HTTP callback) and `GET /upcheck/blocks/` (seconds since the node last
 * reported a block, for monitoring that the node feed is alive). Without precache `/upcheck/blocks/`
 * answers 503 (the feed it watches is not running) and `/block/` 404, both saying precache is off.
 */
export function servePrecache(
  endpoints: PrecacheEndpoints | undefined,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  if (!endpoints) {
    res
      .writeHead(path.startsWith("/upcheck") ? 503 : 404, JSON_HEADERS)
      .end(JSON.stringify({ error: "precache is off: start the hub with --precache" }));
    return;
  }
  const callback = path.startsWith("/block");
  const method = callback ? "POST" : "GET";
  if (req.method !== method) {
    res
      .writeHead(405, { ...JSON_HEADERS, allow: method })
      .end(JSON.stringify({ error: `use ${method} ${path}` }));
    return;
  }
  if (!callback) {
    res.writeHead(200, { "content-type": "text/plain" }).end(String(endpoints.secondsSinceBlock()));
    return;
  }
  readBody(req, MAX_CONFIRMATION_BYTES).then(
    async (body) => {
      if (body === null) {
        res
          .writeHead(413, { ...JSON_HEADERS, connection: "close" })
          .end(JSON.stringify({ error: "body too large" }));
        req.destroy();
        return;
      }
      const error = await endpoints.callback(body);
      res
        .writeHead(error === null ? 200 : 400, JSON_HEADERS)
        .end(JSON.stringify(error === null ? {} : { error }));
    },
    () => res.destroy(),
  );
}

/** The request body, or null (and the connection dropped) once it grows past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
