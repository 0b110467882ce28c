import type { Logger } from "pino";
import WebSocket from "ws";
import { redactUrl } from "../../protocol/redact-url.js";
import { MAX_CONFIRMATION_BYTES } from "./confirmation.js";

export interface NodeFeedOptions {
  url: string;
  /** Every text message from the node (confirmations, acks); the caller parses it. */
  onMessage: (text: string) => void;
  logger: Logger;
  /** First reconnect delay; it doubles up to maxRetryMs and resets once a connection is subscribed. */
  retryMs?: number;
  maxRetryMs?: number;
}

const SUBSCRIBE = JSON.stringify({ action: "subscribe", topic: "confirmation", ack: true });

/**
 * The node's WebSocket confirmation feed, kept open forever: a node restarts, upgrades and drops
 * connections, and a hub that stopped listening would silently stop precaching. Every (re)connect
 * subscribes again, because a node forgets subscriptions with the connection.
 */
export class NodeFeed {
  private socket: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private stopped = false;
  private subscribed = false;
  /** Whether this outage was reported: once at warn (a wrong --node-ws must not go unseen), then debug. */
  private outageReported = false;

  constructor(private readonly options: NodeFeedOptions) {
    this.delayMs = options.retryMs ?? 500;
  }

  start(): void {
    this.connect();
  }

  /** True while connected and subscribed. */
  isSubscribed(): boolean {
    return this.subscribed;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.terminate();
  }

  private connect(): void {
    const { url, logger } = this.options;
    const socket = new WebSocket(url, { maxPayload: MAX_CONFIRMATION_BYTES, handshakeTimeout: 10_000 });
    this.socket = socket;
    socket.on("open", () => socket.send(SUBSCRIBE));
    socket.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      // The ack (or, from a node that sends none, the first confirmation) shows the subscription took.
      if (!this.subscribed) this.onSubscribed();
      this.options.onMessage(text);
    });
    socket.on("error", (err) => {
      if (this.outageReported) return logger.debug({ err, url }, "node WebSocket error");
      this.outageReported = true;
      logger.warn(
        { err: err.message },
        `cannot reach the node's WebSocket at ${redactUrl(url)} (${err.message}); retrying until it answers (check --node-ws and the node's websocket config)`,
      );
    });
    socket.on("close", () => {
      if (this.subscribed) logger.warn({ url }, "node WebSocket closed; reconnecting");
      this.subscribed = false;
      this.retry();
    });
  }

  private onSubscribed(): void {
    this.subscribed = true;
    this.outageReported = false;
    this.delayMs = this.options.retryMs ?? 500;
    this.options.logger.info({ url: this.options.url }, "subscribed to the node's confirmations");
  }

  private retry(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.connect(), this.delayMs);
    this.delayMs = Math.min(this.delayMs * 2, this.options.maxRetryMs ?? 30_000);
  }
}
