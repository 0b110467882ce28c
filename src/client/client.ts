/**
 * A service's client for a DPoW hub: one persistent `/service_ws/` WebSocket carrying many requests
 * at once, matched by `id`; reconnects with backoff and resends what was unanswered (a retry for
 * the same hash is cheap: the hub's job stays open); optionally races this machine's CPU when the
 * hub is slow or down. Work is checked here before it is handed out, wherever it came from.
 */
import WebSocket from "ws";
import { fromMultiplier, SEND_THRESHOLD } from "../nano/difficulty.js";
import { formatHash, formatU64, parseHash, parseU64 } from "../nano/hex.js";
import { workValue } from "../nano/work.js";
import type { WorkBackend } from "../pow/backend.js";
import {
  DpowBadRequestError,
  DpowCredentialsError,
  type DpowError,
  DpowTimeoutError,
  DpowUnavailableError,
  errorFromAnswer,
} from "./errors.js";

export interface FallbackOptions {
  /** Start computing locally when the hub has not answered within this (or at once when it is down). */
  afterMs: number;
  /** A backend of your own (e.g. a work server); default: this machine's CPU pool, started on first use. */
  backend?: WorkBackend;
  /** Threads of the default CPU pool (default: one per core). */
  threads?: number;
}

export interface DpowClientOptions {
  /** The hub: http(s)://host:port (its /service_ws/ is used) or the full ws(s):// URL. */
  url: string;
  user: string;
  apiKey: string;
  /**
   * The hub's send base: what `multiplier` and a request without difficulty mean when work is
   * checked here and computed by the fallback. Default: the live network's fffffff800000000.
   */
  base?: bigint;
  fallback?: FallbackOptions;
  /** Reconnect delays: the first, doubled after each failure up to the last (default 100 ms .. 5 s). */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Requests sent at once on the socket; more wait here for answers (default 256, the hub's own limit). */
  maxInFlight?: number;
}

export interface WorkGenerateOptions {
  /** 16 hex digits; `multiplier` wins over it. Default: the hub's base. */
  difficulty?: string;
  /** Of the base (0.125 = receive work). */
  multiplier?: number;
  /** Seconds the hub may take, 1..30 (default 5). */
  timeout?: number;
  /** The block's account: lets the hub precompute the account's next work (precache). */
  account?: string;
}

export interface WorkGenerateResult {
  /** 16 hex digits. */
  work: string;
  /** The root, 64 upper-case hex digits. */
  hash: string;
  /** The value the work reaches (>= what was asked), 16 hex digits. */
  difficulty: string;
  /** Where the work came from. */
  source: "hub" | "local";
}

export const CLIENT_DEFAULTS = {
  timeout: 5,
  reconnect: { initialMs: 100, maxMs: 5000 },
  /** An answer may take the request's timeout plus this before the client gives up on it. */
  answerMarginMs: 2000,
  /** Largest answer accepted (an answer is a few hundred bytes). */
  maxPayload: 64 * 1024,
  handshakeTimeoutMs: 10_000,
  maxInFlight: 256,
} as const;

const SHUTTING_DOWN = "The hub is shutting down";
const TOO_MANY = "Too many requests in flight";

interface Pending {
  id: number;
  message: string;
  root: Uint8Array;
  required: bigint;
  /** Sent on the socket that is open now (unsent ones go out on the next connection). */
  sent: boolean;
  /** Sent on some connection: at its deadline it timed out, rather than found no hub. */
  everSent: boolean;
  timer: NodeJS.Timeout;
  resolve(result: WorkGenerateResult): void;
  reject(err: DpowError): void;
}

/** `http://host:port` -> `ws://host:port/service_ws/`; a ws(s):// URL is kept as it is. */
export function serviceSocketUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DpowBadRequestError(`url must be an http(s):// or ws(s):// URL of the hub, got "${url}"`);
  }
  if (parsed.protocol === "http:" || parsed.protocol === "https:") {
    parsed.protocol = parsed.protocol === "https:" ? "wss:" : "ws:";
    if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = "/service_ws/";
    return parsed.toString();
  }
  if (parsed.protocol === "ws:" || parsed.protocol === "wss:") return parsed.toString();
  throw new DpowBadRequestError(`url must be an http(s):// or ws(s):// URL of the hub, got "${url}"`);
}

export class DpowClient {
  private readonly url: string;
  private readonly base: bigint;
  private readonly pending = new Map<number, Pending>();
  private socket: WebSocket | undefined;
  private open = false;
  private closed = false;
  private nextId = 0;
  private delayMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private lastProblem = "not connected yet";
  private localBackend: Promise<WorkBackend> | undefined;
  private readonly localRuns = new Set<AbortController>();
  /** Requests sent on the open socket and not answered yet; at most `limit`. */
  private sentCount = 0;
  private limit: number;

  constructor(private readonly options: DpowClientOptions) {
    this.url = serviceSocketUrl(options.url);
    this.base = options.base ?? SEND_THRESHOLD;
    this.delayMs = options.reconnect?.initialMs ?? CLIENT_DEFAULTS.reconnect.initialMs;
    this.limit = Math.max(1, options.maxInFlight ?? CLIENT_DEFAULTS.maxInFlight);
  }

  /**
   * Work for `hash` (64 hex, the block's root) reaching the difficulty asked for. Rejects with a
   * DpowError: DpowCredentialsError, DpowTimeoutError, DpowBadRequestError, DpowUnavailableError
   * (DpowThrottledError is one).
   */
  workGenerate(hash: string, options: WorkGenerateOptions = {}): Promise<WorkGenerateResult> {
    if (this.closed) return Promise.reject(new DpowUnavailableError("the client is closed"));
    let root: Uint8Array;
    let required: bigint;
    try {
      root = parseHash(hash, "hash");
      required =
        options.multiplier !== undefined
          ? fromMultiplier(options.multiplier, this.base)
          : options.difficulty !== undefined
            ? parseU64(options.difficulty, "difficulty")
            : this.base;
    } catch (err) {
      return Promise.reject(new DpowBadRequestError((err as Error).message));
    }
    const fromHub = this.request(root, required, options);
    const fallback = this.options.fallback;
    return fallback ? this.race(fromHub, root, required, fallback) : fromHub;
  }

  /** Closes the socket and the fallback's CPU pool; requests still waiting reject as unavailable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    for (const request of [...this.pending.values()]) {
      this.settle(request.id);
      request.reject(new DpowUnavailableError("the client was closed before the hub answered"));
    }
    for (const run of this.localRuns) run.abort();
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close(1000, "client closed");
      });
    }
    // Only the pool this client started is its to close.
    if (this.localBackend && this.options.fallback?.backend === undefined) {
      await (await this.localBackend.catch(() => undefined))?.close();
    }
  }

  private request(
    root: Uint8Array,
    required: bigint,
    options: WorkGenerateOptions,
  ): Promise<WorkGenerateResult> {
    const id = ++this.nextId;
    const timeout = options.timeout ?? CLIENT_DEFAULTS.timeout;
    const message = JSON.stringify({
      user: this.options.user,
      api_key: this.options.apiKey,
      hash: formatHash(root),
      id,
      timeout,
      ...(options.multiplier !== undefined
        ? { multiplier: options.multiplier }
        : options.difficulty !== undefined
          ? { difficulty: options.difficulty }
          : {}),
      ...(options.account === undefined ? {} : { account: options.account }),
    });
    const waitMs = (Number.isFinite(timeout) ? Math.max(1, timeout) : CLIENT_DEFAULTS.timeout) * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const request = this.pending.get(id);
        if (!request) return;
        this.settle(id);
        this.pump();
        reject(
          request.everSent || this.open
            ? new DpowTimeoutError(`Timeout reached without work: no answer from the hub within ${timeout} s`)
            : new DpowUnavailableError(`the hub at ${this.url} is unreachable: ${this.lastProblem}`),
        );
      }, waitMs + CLIENT_DEFAULTS.answerMarginMs);
      this.pending.set(id, {
        id,
        message,
        root,
        required,
        sent: false,
        everSent: false,
        timer,
        resolve,
        reject,
      });
      if (this.open) this.pump();
      else this.connect();
    });
  }

  /** The hub's answer, or this machine's work once `afterMs` passed or the hub failed; first valid wins. */
  private race(
    fromHub: Promise<WorkGenerateResult>,
    root: Uint8Array,
    required: bigint,
    fallback: FallbackOptions,
  ): Promise<WorkGenerateResult> {
    return new Promise((resolve, reject) => {
      let done = false;
      let hubError: DpowError | undefined;
      let localError: DpowError | undefined;
      let local: AbortController | undefined;
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        local?.abort();
        settle();
      };
      const closedError = () => new DpowUnavailableError("the client was closed before work was found");
      const startLocal = () => {
        if (done || local) return;
        if (this.closed) return finish(() => reject(hubError ?? closedError()));
        const controller = new AbortController();
        local = controller;
        this.localRuns.add(controller);
        this.backend(fallback)
          .then((backend) => backend.generate(root, required, { signal: controller.signal }))
          .then(({ work }) => {
            const value = workValue(root, work);
            if (value < required) throw new Error(`local work ${formatU64(work)} fails the difficulty`);
            finish(() =>
              resolve({
                work: formatU64(work),
                hash: formatHash(root),
                difficulty: formatU64(value),
                source: "local",
              }),
            );
          })
          .catch((err: Error) => {
            if (done) return;
            if (controller.signal.aborted) return finish(() => reject(closedError())); // close()
            localError = new DpowUnavailableError(`local work failed: ${err.message}`);
            if (hubError) finish(() => reject(hubError));
          })
          .finally(() => this.localRuns.delete(controller));
      };
      const timer = setTimeout(startLocal, fallback.afterMs);
      fromHub.then(
        (result) => finish(() => resolve(result)),
        (err: DpowError) => {
          // A configuration error is not the hub being down: the fallback would only hide it.
          if (err instanceof DpowCredentialsError || err instanceof DpowBadRequestError) {
            return finish(() => reject(err));
          }
          hubError = err;
          if (localError) return finish(() => reject(err));
          startLocal();
        },
      );
    });
  }

  private backend(fallback: FallbackOptions): Promise<WorkBackend> {
    if (fallback.backend) return Promise.resolve(fallback.backend);
    this.localBackend ??= import("../pow/create-backend.js").then(({ createBackend }) =>
      createBackend("cpu", fallback.threads === undefined ? {} : { threads: fallback.threads }),
    );
    return this.localBackend;
  }

  private connect(): void {
    if (this.socket || this.closed || this.reconnectTimer) return;
    const socket = new WebSocket(this.url, {
      maxPayload: CLIENT_DEFAULTS.maxPayload,
      handshakeTimeout: CLIENT_DEFAULTS.handshakeTimeoutMs,
    });
    this.socket = socket;
    socket.on("open", () => {
      this.open = true;
      this.delayMs = this.options.reconnect?.initialMs ?? CLIENT_DEFAULTS.reconnect.initialMs;
      this.pump();
    });
    socket.on("message", (data) => this.onMessage(data.toString()));
    socket.on("error", (err) => {
      this.lastProblem = err.message;
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.open = false;
      // What was sent on this socket will never be answered on it: it goes out again.
      for (const request of this.pending.values()) request.sent = false;
      this.sentCount = 0;
      if (this.pending.size > 0 && !this.closed) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.options.reconnect?.maxMs ?? CLIENT_DEFAULTS.reconnect.maxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.pending.size > 0) this.connect();
    }, delay);
  }

  /** Sends waiting requests, oldest first, while fewer than `limit` are unanswered on the socket. */
  private pump(): void {
    if (!this.socket || !this.open) return;
    for (const request of this.pending.values()) {
      if (this.sentCount >= this.limit) return;
      if (request.sent) continue;
      request.sent = true;
      request.everSent = true;
      this.sentCount += 1;
      this.socket.send(request.message);
    }
  }

  private onMessage(text: string): void {
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // not an answer to anything
    }
    const request = typeof answer.id === "number" ? this.pending.get(answer.id) : undefined;
    if (!request) return; // an answer without our id (a request given up on, or a socket-level error)
    if (request.sent) {
      request.sent = false;
      this.sentCount -= 1;
    }
    if (typeof answer.error === "string" && answer.error.startsWith(SHUTTING_DOWN)) {
      // This hub is going away: the request goes out again on the next connection (a restarted
      // hub, or another replica behind the same address), until its deadline.
      return;
    }
    if (typeof answer.error === "string" && answer.error.startsWith(TOO_MANY)) {
      // The hub allows fewer at once than this client sent: keep below that, and send it again.
      this.limit = Math.max(1, this.sentCount);
      this.pump();
      return;
    }
    this.settle(request.id);
    this.pump();
    if (typeof answer.error === "string") {
      request.reject(errorFromAnswer({ error: answer.error, timeout: answer.timeout }));
      return;
    }
    const work =
      typeof answer.work === "string" && /^[0-9a-fA-F]{16}$/.test(answer.work) ? answer.work : undefined;
    const value = work === undefined ? undefined : workValue(request.root, BigInt(`0x${work}`));
    if (work === undefined || value === undefined || value < request.required) {
      request.reject(
        new DpowUnavailableError(
          `the hub returned work that fails the difficulty ${formatU64(request.required)}: ${String(answer.work)}`,
        ),
      );
      return;
    }
    request.resolve({
      work: work.toLowerCase(),
      hash: formatHash(request.root),
      difficulty: formatU64(value),
      source: "hub",
    });
  }

  private settle(id: number): void {
    const request = this.pending.get(id);
    if (!request) return;
    clearTimeout(request.timer);
    this.pending.delete(id);
    if (request.sent) {
      request.sent = false;
      this.sentCount -= 1;
    }
  }
}
