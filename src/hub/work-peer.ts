/**
 * The hub as a Nano node's work peer (`node.work_peers = ["host:port"]` in config-node.toml).
 *
 * What the node does (nano-node's distributed_work): it POSTs `{"action":"work_generate","hash",
 * "difficulty","account"?}` (every value a string, no credentials) to `/` of every peer at once,
 * takes the first HTTP 200 whose `work` reaches the difficulty, closes the other connections and
 * sends each of those peers `{"action":"work_cancel","hash"}` on a new connection. A 200 without
 * valid work marks the peer bad at once (the node logs the body and moves on); a non-200 answer
 * is neither used nor counted as a failure, so the node would wait on it: every failure here is
 * therefore HTTP 200 with `{"error": ...}`.
 *
 * Requests go through the same work flow as the service API (cache, precache, on-demand, never
 * below the difficulty asked), counted and rate-limited as one service. Only allowed source
 * addresses are served (loopback by default), since the node sends no credentials.
 *
 * work_cancel: the hub cannot cancel work another service waits for. It answers `{}`, gives up the
 * node's own waiting requests for that hash, and closes the job (and tells the workers) only when
 * the job was opened for the work peer's service and no other request on this hub waits on it.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { BlockList, isIP } from "node:net";
import { type ApiErrorCode, apiAnswerOf, CodedError } from "../errors.js";
import { addressError } from "../nano/account.js";
import { fromMultiplier } from "../nano/difficulty.js";
import { formatU64 } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import { parseRpc, type RpcCommand, RpcRequestError } from "../pow/work-server/rpc.js";
import { errors } from "../protocol/service.js";
import { surviveAcceptErrors } from "./accept-errors.js";
import type { Ledger } from "./ports.js";
import { addService } from "./service-admin.js";
import type { RequestDeps } from "./service-api.js";
import type { WorkFlow } from "./work-flow.js";

export interface WorkPeerSettings {
  host: string;
  port: number;
  /** The service the node's requests are counted and rate-limited as; registered at start if new. */
  service: string;
  /** Source addresses served: IPv4/IPv6 addresses or CIDR ranges. */
  allow: readonly string[];
}

export const WORK_PEER_DEFAULTS = {
  service: "work_peer",
  allow: ["127.0.0.0/8", "::1"],
} as const satisfies Partial<WorkPeerSettings>;

/** A node's request is about 200 bytes (pretty-printed JSON); anything far larger is not one. */
const MAX_BODY_BYTES = 4096;
/**
 * How long a work_generate waits for a worker. The node sets no deadline of its own: it waits for
 * a peer until it answers. The service API's longest (30 s) keeps a stuck request bounded; on the
 * error the node retries with backoff (1 s, 2 s, ...).
 */
const WORK_TIMEOUT_MS = 30_000;
/** The request (headers and body) must arrive within this; a node sends it in one write. */
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 1024;

export interface WorkPeerDeps extends RequestDeps {
  ledger: Ledger;
}

type Body = Record<string, string | boolean>;

/** Parses `--work-peer-allow` entries; throws with the entry that is not an address or range. */
export function parseAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const entry = raw.trim();
    const [address = "", bits, extra] = entry.split("/");
    const family = isIP(address);
    const prefix = bits === undefined ? undefined : Number(bits);
    const maxBits = family === 6 ? 128 : 32;
    if (
      family === 0 ||
      extra !== undefined ||
      (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxBits))
    ) {
      throw new CodedError(
        "DPOW_INVALID_OPTION",
        `"${raw}" is not an IP address or a CIDR range such as 127.0.0.0/8 or ::1`,
      );
    }
    const type = family === 6 ? "ipv6" : "ipv4";
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, prefix, type);
  }
  return list;
}

/** Whether `address` (as a socket reports it; IPv4 may come mapped into IPv6) is on the list. */
function allowed(list: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return list.check(mapped[1], "ipv4");
  return list.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/** The work peer listener could not listen (`errno`: EADDRINUSE, EADDRNOTAVAIL, EACCES, ...). */
export class WorkPeerListenError extends CodedError {
  override name = "WorkPeerListenError";
  constructor(
    readonly errno: string | undefined,
    readonly port: number,
    message: string,
  ) {
    super(errno === "EADDRINUSE" ? "DPOW_PORT_TAKEN" : "DPOW_USAGE", message);
  }
}

export class WorkPeerServer {
  readonly server: Server;
  private readonly allowList: BlockList;
  /** The node's requests waiting for work, by hash: a work_cancel gives them up. */
  private readonly waiting = new Map<string, Set<AbortController>>();
  private inFlight = 0;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly settings: WorkPeerSettings,
    private readonly deps: WorkPeerDeps,
  ) {
    this.allowList = parseAllowList(settings.allow);
    this.server = createServer((req, res) => this.route(req, res));
    this.server.requestTimeout = REQUEST_TIMEOUT_MS;
    this.server.headersTimeout = REQUEST_TIMEOUT_MS;
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Registers the service if it is new, then listens; resolves with the bound port. */
  async listen(): Promise<number> {
    const { ledger, logger } = this.deps;
    if (!(await ledger.service(this.settings.service))) {
      await addService(ledger, this.settings.service, {});
      logger.info(
        { service: this.settings.service },
        "work peer service registered; change its limits with `dpow service update`",
      );
    }
    return new Promise((resolve, reject) => {
      this.server.once("error", (err: NodeJS.ErrnoException) =>
        reject(new WorkPeerListenError(err.code, this.settings.port, `work peer listener: ${err.message}`)),
      );
      this.server.listen(this.settings.port, this.settings.host, () => {
        this.server.removeAllListeners("error");
        surviveAcceptErrors(this.server, "work peer listener", logger);
        const address = this.server.address();
        resolve(typeof address === "object" && address ? address.port : this.settings.port);
      });
    });
  }

  /** Stops accepting connections; requests taken in keep going (the flow answers them, see drain). */
  stopAccepting(): void {
    this.server.close();
    this.server.closeIdleConnections();
  }

  /** Waits until every request taken in has been answered. */
  async drain(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  closeConnections(): void {
    this.server.closeAllConnections();
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (!allowed(this.allowList, req.socket.remoteAddress)) {
      this.deps.logger.debug({ address: req.socket.remoteAddress }, "work peer request refused");
      send(res, {
        error: `Forbidden: ${req.socket.remoteAddress} may not use this work peer; the hub operator can add it with --work-peer-allow`,
      });
      req.resume();
      return;
    }
    if (req.method !== "POST") {
      send(res, { error: "Can only POST requests: this is a Nano work peer (work_generate, work_cancel)" });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        refused = true;
        res.setHeader("connection", "close");
        send(res, { error: `Request too large (at most ${MAX_BODY_BYTES} bytes)` });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      this.inFlight += 1;
      const gone = new AbortController();
      res.on("close", () => {
        if (!res.writableFinished) gone.abort();
      });
      this.serve(Buffer.concat(chunks).toString("utf8"), gone)
        .catch((err: unknown) => {
          this.deps.logger.error({ err }, "work peer request failed");
          return this.fail("DPOW_API_INTERNAL", errors.internal);
        })
        .then((body) => {
          send(res, body);
          this.inFlight -= 1;
          if (this.inFlight === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
        });
    });
  }

  private async serve(text: string, gone: AbortController): Promise<Body> {
    let command: RpcCommand;
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
      command = parseRpc(json);
    } catch (err) {
      if (err instanceof RpcRequestError) {
        const { error, hint } = err.reply;
        return this.fail("DPOW_API_BAD_REQUEST", hint === undefined ? error : `${error}: ${hint}`);
      }
      return this.fail("DPOW_API_BAD_REQUEST", errors.notJson);
    }
    switch (command.action) {
      case "work_generate":
        return this.generate(command.root, json, gone);
      case "work_cancel":
        return this.cancel(Buffer.from(command.root).toString("hex").toUpperCase());
      case "work_validate": {
        const value = workValue(command.root, command.work);
        const threshold = this.askedDifficulty(json) ?? this.deps.policy.base;
        return {
          valid: value >= threshold ? "1" : "0",
          difficulty: formatU64(value),
          multiplier: String(this.deps.policy.multiplierOf(value)),
        };
      }
      case "status":
        return { generating: this.waiting.size > 0 ? "1" : "0", queue_size: String(this.waiting.size) };
      default:
        return this.fail(
          "DPOW_API_BAD_REQUEST",
          `Unknown command: a work peer serves work_generate, work_cancel, work_validate and status`,
        );
    }
  }

  private async generate(
    root: Uint8Array,
    json: Record<string, unknown>,
    gone: AbortController,
  ): Promise<Body> {
    const { ledger, limiter, policy, flow, counters, metrics, logger } = this.deps;
    const started = performance.now();
    const name = this.settings.service;
    const service = await ledger.service(name);
    if (!service) {
      return this.fail(
        "DPOW_API_CREDENTIALS",
        `Work peer service "${name}" is not registered on this hub; the operator can add it with \`dpow service add ${name}\``,
      );
    }
    if (!limiter.take(service.name, service.rate, service.burst)) {
      return this.fail(
        "DPOW_API_THROTTLED",
        `Throttled: service "${name}" may make ${service.rate} requests/s (burst ${service.burst})`,
      );
    }
    const asked = this.askedDifficulty(json) ?? policy.base;
    const resolved = policy.resolve({ difficulty: formatU64(asked) });
    if (resolved.error !== undefined) return this.fail("DPOW_API_BAD_REQUEST", resolved.error);
    // A node checks the work against what it asked: work below that is useless to it.
    if (resolved.difficulty < asked) {
      return this.fail(
        "DPOW_API_BAD_REQUEST",
        `Difficulty too high. Maximum: ${formatU64(policy.max)} ( ${policy.maxMultiplier} multiplier )`,
      );
    }
    const hash = Buffer.from(root).toString("hex").toUpperCase();
    const account = typeof json.account === "string" ? json.account : undefined;
    if (account !== undefined && addressError(account) === null) this.deps.precache?.requested(hash, account);

    let set = this.waiting.get(hash);
    if (!set) {
      set = new Set();
      this.waiting.set(hash, set);
    }
    if (gone.signal.aborted) return { error: "Cancelled" };
    set.add(gone);
    let outcome: Awaited<ReturnType<WorkFlow["work"]>>;
    try {
      outcome = await flow.work({
        hash,
        difficulty: resolved.difficulty,
        timeoutMs: WORK_TIMEOUT_MS,
        service: name,
        signal: gone.signal,
      });
    } finally {
      set.delete(gone);
      if (set.size === 0 && this.waiting.get(hash) === set) this.waiting.delete(hash);
    }
    if (gone.signal.aborted) return { error: "Cancelled" }; // nobody reads it (or the hub is closing)
    if (outcome.kind === "closed") return this.fail("DPOW_API_SHUTTING_DOWN", errors.shuttingDown);
    if (outcome.kind === "timeout") {
      logger.info({ hash, service: name }, "work peer request timed out");
      return {
        ...this.fail(
          "DPOW_API_TIMEOUT",
          `Timeout reached without work: no worker returned work within ${WORK_TIMEOUT_MS / 1000} s`,
        ),
        timeout: true,
      };
    }
    if (outcome.value < resolved.difficulty) {
      logger.error({ hash, work: formatU64(outcome.work) }, "work failed re-validation; not returned");
      return this.fail("DPOW_API_INTERNAL", errors.internal);
    }
    counters.count(name, outcome.kind === "cache" ? "precache" : "ondemand");
    metrics.request(outcome.kind, (performance.now() - started) / 1000);
    return {
      work: formatU64(outcome.work),
      hash,
      difficulty: formatU64(outcome.value),
      multiplier: String(policy.multiplierOf(outcome.value)),
    };
  }

  /**
   * The difficulty a request names, as parseRpc checked it (1 to 16 hex digits, or a positive
   * multiplier), with a multiplier taken of this hub's base rather than the live network's.
   */
  private askedDifficulty(json: Record<string, unknown>): bigint | undefined {
    if (json.multiplier !== undefined) return fromMultiplier(Number(json.multiplier), this.deps.policy.base);
    if (json.difficulty !== undefined) return BigInt(`0x${String(json.difficulty)}`);
    return undefined;
  }

  /** The node took another peer's work: give up its requests here, and the job if nobody else waits. */
  private async cancel(hash: string): Promise<Body> {
    for (const controller of this.waiting.get(hash) ?? []) controller.abort();
    const closed = await this.deps.flow.abandon(hash, this.settings.service);
    this.deps.logger.debug({ hash, job_closed: closed }, "work peer work_cancel");
    return {};
  }

  /** Counts a refusal by its catalogue code's outcome; the node gets HTTP 200 whatever it is. */
  private fail(code: ApiErrorCode, error: string): Body {
    this.deps.metrics.request(apiAnswerOf(code).outcome);
    return { error };
  }
}

function send(res: ServerResponse, body: Body): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
