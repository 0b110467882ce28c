import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { apiAnswerOf } from "../errors.js";
import { echoableId, errors, MAX_REQUEST_BYTES } from "../protocol/service.js";
import { surviveAcceptErrors } from "./accept-errors.js";
import { addressKey } from "./address-key.js";
import { defaultMaxHttpConnections } from "./broker/connection-limits.js";
import { RefusalLog } from "./broker/refusal-log.js";
import type { PublicApi } from "./dashboard/public-api.js";
import type { HubMetrics } from "./metrics.js";
import { openFileLimit } from "./open-file-limit.js";
import { isPrecachePath, type PrecacheEndpoints, servePrecache } from "./precache/http-routes.js";
import type { ApiAnswer, ServiceApi } from "./service-api.js";
import type { WebPages } from "./web-pages.js";

const WS_PING_INTERVAL_MS = 30_000;
/** How long a WebSocket closed for abuse may take to finish the close handshake before it is dropped. */
const WS_CLOSE_GRACE_MS = 1000;
/** How often node:http checks headersTimeout and requestTimeout (its default, 30 s, would let them overrun by that much). */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;
/** Close code of a WebSocket closed for breaking a limit (RFC 6455 7.4.1: policy violation). */
const WS_POLICY_VIOLATION = 1008;
const JSON_HEADERS = { "content-type": "application/json" };
/** Refused connections are logged as one summary line per minute (a log flood is an attack too). */
const REFUSAL_LOG_INTERVAL_MS = 60_000;

/**
 * What one client may hold of the hub, per connection and per address. Each bound is listed, with
 * its flag and what an attack gets against it, in the README's "Security and limits".
 */
export interface HttpLimits {
  /**
   * Open HTTP and WebSocket connections in all, `/mqtt` workers aside (the broker caps those);
   * past it a new one is closed unread. 0 = no cap; not given: from the open-file limit
   * (defaultMaxHttpConnections), so a flood from many addresses cannot take the hub's descriptors.
   */
  maxConnections?: number;
  /** Open HTTP and WebSocket connections from one remote address; 0 = no cap (behind a proxy). */
  maxConnectionsPerIp: number;
  /** Request headers must be complete within this. */
  headersTimeoutMs: number;
  /** The whole request, headers and body, must be received within this. */
  requestTimeoutMs: number;
  /** A `POST /service/` body that stops arriving for this long is cut (a trickled body). */
  bodyIdleTimeoutMs: number;
  /** Requests one WebSocket may have unanswered; more are refused with an error until answers go out. */
  wsMaxInFlight: number;
  /** Answers queued for a WebSocket whose client does not read; past it the socket is closed. */
  wsMaxUnsentBytes: number;
  /** Requests with invalid credentials one WebSocket may send; the last one closes it. */
  wsMaxBadCredentials: number;
}

export const HTTP_LIMITS = {
  // Every service request and every worker on /mqtt is one connection; a busy service keeps a few.
  maxConnectionsPerIp: 256,
  // A request is at most 4 KiB: 10 s is generous on any link, and cuts slowloris within 11 s.
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  bodyIdleTimeoutMs: 5_000,
  // A request in flight holds its body (<= 4 KiB) and about 1 KiB of state: 256 bound a socket to
  // about 1.3 MiB, four times what the benchmark keeps in flight (64); more takes another socket.
  wsMaxInFlight: 256,
  // An answer is about 200 bytes: 256 KiB is over a thousand answers the client has not read. An
  // honest client that reads as it goes stays near 0.
  wsMaxUnsentBytes: 256 * 1024,
  // A service with a wrong key gets the same error every time; 5 are enough to show it.
  wsMaxBadCredentials: 5,
} satisfies HttpLimits;

/** What the operator sets of the HTTP front (`dpow server` flags). */
export interface HttpFrontSettings {
  /** HTTP_LIMITS, with these replaced. */
  limits?: Partial<HttpLimits>;
  /** "original" (default): every service answer is HTTP 200, as the original DPoW's; "codes": REST statuses. */
  httpStatus?: "original" | "codes";
}

export interface HttpFrontOptions extends HttpFrontSettings {
  api: ServiceApi;
  metrics: HubMetrics;
  logger: Logger;
  /** Upgrade paths served by someone else on this server (the broker's `/mqtt`); others are refused. */
  foreignUpgradePaths: readonly string[];
  /** `POST /block/` and `/upcheck/blocks/`; without it they say precache is off (see servePrecache). */
  precache?: PrecacheEndpoints;
  /** The dashboard and the browser worker; without it `/` and `/worker` are 404. */
  pages?: WebPages;
  /** The dashboard's public JSON under `/api/v1/`; without it those are 404. */
  publicApi?: PublicApi;
}

/**
 * The hub's HTTP front: `POST /service/`, the `/service_ws/` WebSocket, `/upcheck/` and `/metrics`,
 * on bare node:http (a framework would cost a good share of the cache-hit throughput).
 */
export class HttpFront {
  readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly limits: HttpLimits;
  /** Open connections per remote address (only with a cap). */
  private readonly connections = new Map<string, number>();
  /** Connections open now that count against maxConnections (handed to `/mqtt`: no longer). */
  private open = 0;
  private readonly maxConnections: number;
  private readonly handedOff = new WeakSet<Duplex>();
  private readonly capRefusals: RefusalLog | undefined;
  /** Connections closed unread for their address's cap, since the start (for metrics). */
  private perAddressRefusals = 0;
  /** Requests taken in and not yet answered, and who waits for that to reach zero (drain). */
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private pinger: NodeJS.Timeout | undefined;

  constructor(private readonly options: HttpFrontOptions) {
    this.limits = { ...HTTP_LIMITS, ...options.limits };
    this.server = createServer(
      {
        headersTimeout: this.limits.headersTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
      },
      (req, res) => this.route(req, res),
    );
    this.maxConnections = this.limits.maxConnections ?? defaultMaxHttpConnections(openFileLimit());
    if (this.maxConnections > 0) {
      this.capRefusals = new RefusalLog(
        options.logger,
        `HTTP connections refused (over the hub's cap of ${this.maxConnections})`,
        REFUSAL_LOG_INTERVAL_MS,
      );
    }
    options.metrics.countRefusals(() => ({
      listener: "http",
      counts: { cap: this.capRefusals?.total ?? 0, per_address: this.perAddressRefusals },
    }));
    if (this.limits.maxConnectionsPerIp > 0 || this.maxConnections > 0) {
      this.server.on("connection", (socket: Socket) => this.admit(socket));
    }
    this.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.wss.on("connection", (ws) => this.serveSocket(ws));
  }

  /** Counts a new connection in all and against its address; past either cap it is closed at once, unread. */
  private admit(socket: Socket): void {
    const address = addressKey(socket.remoteAddress ?? "");
    if (this.maxConnections > 0 && this.open >= this.maxConnections) {
      this.capRefusals?.note(address);
      socket.destroy();
      return;
    }
    const perIp = this.limits.maxConnectionsPerIp;
    const fromAddress = (this.connections.get(address) ?? 0) + 1;
    if (perIp > 0 && fromAddress > perIp) {
      this.perAddressRefusals++;
      socket.destroy();
      return;
    }
    this.open++;
    if (perIp > 0) this.connections.set(address, fromAddress);
    socket.once("close", () => {
      if (!this.handedOff.has(socket)) this.open--;
      if (perIp === 0) return;
      const left = (this.connections.get(address) ?? 1) - 1;
      if (left === 0) this.connections.delete(address);
      else this.connections.set(address, left);
    });
  }

  /** Resolves with the bound port; rejects with the listen error (EADDRINUSE included). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        surviveAcceptErrors(this.server, "HTTP listener", this.options.logger);
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
    this.capRefusals?.close();
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
    if (path === "/service/" || path === "/service") {
      if (req.method === "POST") this.servePost(req, res);
      else {
        res
          .writeHead(405, { ...JSON_HEADERS, allow: "POST" })
          .end(
            JSON.stringify({ error: `Use POST ${path} with a JSON body (or the WebSocket at /service_ws/)` }),
          );
      }
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
    if (path !== undefined && this.options.publicApi?.serve(path, req, res)) return;
    if (path !== undefined && this.options.pages?.serve(path, req, res)) return;
    res.writeHead(404, JSON_HEADERS).end(JSON.stringify({ error: `Not found: ${req.method} ${path}` }));
  }

  private servePost(req: IncomingMessage, res: ServerResponse): void {
    const status = (answer: ApiAnswer) => (this.options.httpStatus === "codes" ? answer.status : 200);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    // A body that stops arriving is cut: Content-Length 100 sent a byte every 10 s would otherwise
    // hold the connection (and its memory) until requestTimeout.
    const idle = setTimeout(() => {
      this.options.logger.debug({ remote: req.socket.remoteAddress }, "request body stalled; connection cut");
      req.destroy();
    }, this.limits.bodyIdleTimeoutMs);
    const done = () => clearTimeout(idle);
    req.on("close", done);
    req.on("data", (chunk: Buffer) => {
      idle.refresh();
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        if (!refused) {
          refused = true;
          done();
          // Answer at once and drop the connection rather than read an unbounded body.
          const answer = { ...apiAnswerOf("DPOW_API_TOO_LARGE"), body: { error: errors.tooLarge } };
          req.pause();
          res.once("finish", () => req.destroy());
          res
            .writeHead(status(answer), { ...JSON_HEADERS, connection: "close" })
            .end(JSON.stringify(answer.body));
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      done();
      if (refused) return;
      const body =
        chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
      this.serve(body, (answer) => {
        res.writeHead(status(answer), JSON_HEADERS).end(JSON.stringify(answer.body));
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
    } else if (!this.handedOff.has(socket)) {
      // A worker on `/mqtt` from here on: the broker's cap counts it (TCP and WebSocket together).
      this.handedOff.add(socket);
      this.open--;
    }
  }

  private serveSocket(ws: WebSocket): void {
    const { wsMaxInFlight, wsMaxUnsentBytes, wsMaxBadCredentials } = this.limits;
    let inFlight = 0;
    let badCredentials = 0;
    const alive = ws as WebSocket & { isAlive?: boolean };
    alive.isAlive = true;
    ws.on("pong", () => {
      alive.isAlive = true;
    });
    ws.on("error", (err) => this.options.logger.debug({ err }, "service WebSocket error"));
    /** Sends an answer, unless the client has left too many unread: then the socket is closed. */
    const send = (body: unknown) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > wsMaxUnsentBytes) {
        this.closeForAbuse(ws, "too much unread data");
        return;
      }
      ws.send(JSON.stringify(body));
    };
    ws.on("message", (data: RawData) => {
      if (ws.readyState !== ws.OPEN) return;
      const text = rawToString(data);
      if (inFlight >= wsMaxInFlight) {
        const id = idOf(text);
        const error = `Too many requests in flight on this socket (at most ${wsMaxInFlight}); wait for answers or open another socket`;
        send(id === undefined ? { error } : { error, id });
        return;
      }
      inFlight += 1;
      this.serve(text, ({ outcome, body }) => {
        inFlight -= 1;
        send(body);
        if (outcome === "credentials" && ++badCredentials >= wsMaxBadCredentials) {
          this.closeForAbuse(ws, "too many requests with invalid credentials");
        }
      });
    });
  }

  /** Closes a WebSocket that broke a limit, with the reason; one that does not read is dropped soon after. */
  private closeForAbuse(ws: WebSocket, reason: string): void {
    if (ws.readyState !== ws.OPEN) return;
    this.options.logger.debug({ reason }, "service WebSocket closed");
    ws.close(WS_POLICY_VIOLATION, reason);
    // Read no more of what it sends (a flood would cost a parse per message until it is gone).
    ws.pause();
    setTimeout(() => ws.terminate(), WS_CLOSE_GRACE_MS).unref();
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

/** The request's id when it is JSON with an id small enough to echo; else undefined. */
function idOf(text: string): unknown {
  try {
    const id = (JSON.parse(text) as { id?: unknown } | null)?.id;
    return id !== undefined && echoableId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}
