import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { errors, MAX_REQUEST_BYTES } from "../protocol/service.js";
import type { HubMetrics } from "./metrics.js";
import { isPrecachePath, type PrecacheEndpoints, servePrecache } from "./precache/http-routes.js";
import type { ApiAnswer, ServiceApi } from "./service-api.js";

const WS_PING_INTERVAL_MS = 30_000;
/** Requests one WebSocket may have waiting at once; beyond that a client must wait for answers. */
const WS_MAX_IN_FLIGHT = 10_000;
const JSON_HEADERS = { "content-type": "application/json" };

export interface HttpServerOptions {
  api: ServiceApi;
  metrics: HubMetrics;
  logger: Logger;
  /** Upgrade paths served by someone else on this server (the broker's `/mqtt`); others are refused. */
  foreignUpgradePaths: readonly string[];
  /** `POST /block/` and `/upcheck/blocks/`; both answer 404 without precache. */
  precache?: PrecacheEndpoints;
}

/**
 * The hub's HTTP front: `POST /service/`, the `/service_ws/` WebSocket, `/upcheck/` and `/metrics`,
 * on bare node:http (a framework would cost a good share of the cache-hit throughput).
 */
export class HttpFront {
  readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  /** Requests taken in and not yet answered, and who waits for that to reach zero (drain). */
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private pinger: NodeJS.Timeout | undefined;

  constructor(private readonly options: HttpServerOptions) {
    this.server = createServer((req, res) => this.route(req, res));
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.wss.on("connection", (ws) => this.serveSocket(ws));
  }

  /** Resolves with the bound port; rejects with the listen error (EADDRINUSE included). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const address = this.server.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
      this.pinger = setInterval(() => this.ping(), WS_PING_INTERVAL_MS);
      this.pinger.unref();
    });
  }

  /** Stops accepting connections and requests; in-flight requests keep going (see drain). */
  stopAccepting(): void {
    clearInterval(this.pinger);
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Waits until every request taken in has been answered. */
  async drain(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes what is left: WebSockets (going away) and HTTP connections. */
  closeConnections(): void {
    for (const ws of this.wss.clients) ws.close(1001, "hub shutting down");
    this.wss.close();
    this.server.closeAllConnections();
  }

  /**
   * Serves one request body and hands its answer to `reply`, counted for drain. A counter rather
   * than a set of promises: on a cache hit the bookkeeping promises cost a good share of the time.
   */
  private serve(body: string, reply: (answer: ApiAnswer) => void): void {
    this.inFlight += 1;
    // handle() never rejects.
    this.options.api.handle(body).then((answer) => {
      try {
        reply(answer);
      } finally {
        this.inFlight -= 1;
        if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (req.method === "POST" && (path === "/service/" || path === "/service")) {
      this.servePost(req, res);
      return;
    }
    if (path !== undefined && isPrecachePath(path)) {
      servePrecache(this.options.precache, path, req, res);
      return;
    }
    if (req.method === "GET" && (path === "/upcheck/" || path === "/upcheck")) {
      res.writeHead(200, { "content-type": "text/plain" }).end("up");
      return;
    }
    if (req.method === "GET" && path === "/metrics") {
      const { registry } = this.options.metrics;
      registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
        (err: unknown) => {
          this.options.logger.error({ err }, "metrics failed");
          res.writeHead(500).end();
        },
      );
      return;
    }
    res.writeHead(404, JSON_HEADERS).end(JSON.stringify({ error: `Not found: ${req.method} ${path}` }));
  }

  private servePost(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        if (!refused) {
          refused = true;
          // Answer at once and drop the connection rather than read an unbounded body.
          res
            .writeHead(413, { ...JSON_HEADERS, connection: "close" })
            .end(JSON.stringify({ error: errors.tooLarge }));
          req.destroy();
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      const body =
        chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
      this.serve(body, ({ status, body: answer }) => {
        res.writeHead(status, JSON_HEADERS).end(JSON.stringify(answer));
      });
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    if (path === "/service_ws/" || path === "/service_ws") {
      this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit("connection", ws, req));
      return;
    }
    if (!this.options.foreignUpgradePaths.includes(path)) {
      socket.end("HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n");
    }
  }

  private serveSocket(ws: WebSocket): void {
    let inFlight = 0;
    const alive = ws as WebSocket & { isAlive?: boolean };
    alive.isAlive = true;
    ws.on("pong", () => {
      alive.isAlive = true;
    });
    ws.on("error", (err) => this.options.logger.debug({ err }, "service WebSocket error"));
    ws.on("message", (data: RawData) => {
      const text = rawToString(data);
      if (inFlight >= WS_MAX_IN_FLIGHT) {
        ws.send(
          JSON.stringify({
            error: `Too many requests in flight on this socket (at most ${WS_MAX_IN_FLIGHT})`,
          }),
        );
        return;
      }
      inFlight += 1;
      this.serve(text, ({ body }) => {
        inFlight -= 1;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(body));
      });
    });
  }

  /** Keeps service sockets alive through proxies, and drops the ones whose peer vanished. */
  private ping(): void {
    for (const ws of this.wss.clients) {
      const alive = ws as WebSocket & { isAlive?: boolean };
      if (alive.isAlive === false) {
        ws.terminate();
        continue;
      }
      alive.isAlive = false;
      ws.ping();
    }
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
