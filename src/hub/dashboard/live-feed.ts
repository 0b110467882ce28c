import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { addressKey } from "../address-key.js";

/** What the live feed's viewers may hold of the hub. */
export interface LiveLimits {
  /** Viewers at once, all addresses together. */
  maxViewers: number;
  /** Viewers at once from one address (a person with a few tabs open). */
  maxViewersPerIp: number;
  /** Bytes queued for a viewer that does not read; past it the viewer is dropped. */
  maxUnsentBytes: number;
}

export const LIVE_LIMITS = {
  // A viewer is one idle socket and one response object (a few KiB): 1000 bound them to a few MiB.
  maxViewers: 1000,
  maxViewersPerIp: 8,
  // A frame is about 2-3 KiB: 64 KiB is over 20 s of frames the viewer has not read.
  maxUnsentBytes: 64 * 1024,
} satisfies LiveLimits;

const TICK_MS = 1000;
/** How long a browser waits before it reconnects after the feed ended (SSE `retry`). */
const RETRY_MS = 5000;

interface Viewer {
  res: ServerResponse;
  address: string;
}

/**
 * The dashboard's live updates as server-sent events: one frame per second, computed once and
 * written to every viewer alike. The tick runs only while somebody watches, so the feed costs
 * nothing when nobody does. A viewer past a cap is refused at once; one that stops reading is dropped.
 */
export class LiveFeed {
  private readonly viewers = new Set<Viewer>();
  private readonly perAddress = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;
  private ticking = false;

  constructor(
    private readonly frame: () => Promise<unknown>,
    private readonly limits: LiveLimits,
    private readonly logger: Logger,
  ) {}

  get viewerCount(): number {
    return this.viewers.size;
  }

  serve(req: IncomingMessage, res: ServerResponse, headers: Record<string, string>): void {
    const address = addressKey(req.socket.remoteAddress ?? "");
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (fromAddress >= this.limits.maxViewersPerIp || this.viewers.size >= this.limits.maxViewers) {
      const perIp = fromAddress >= this.limits.maxViewersPerIp;
      const error = perIp
        ? `Too many live views from this address (at most ${this.limits.maxViewersPerIp}); close one, or poll /api/v1/summary`
        : `Too many live viewers (at most ${this.limits.maxViewers}); retry later, or poll /api/v1/summary`;
      res
        .writeHead(perIp ? 429 : 503, { ...headers, "content-type": "application/json", "retry-after": "30" })
        .end(JSON.stringify({ error }));
      return;
    }
    const viewer = { res, address };
    this.viewers.add(viewer);
    this.perAddress.set(address, fromAddress + 1);
    res.once("close", () => this.leave(viewer));
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), TICK_MS);
      void this.tick();
    }
  }

  /** Ends every viewer's stream (hub shutting down). */
  close(): void {
    for (const viewer of this.viewers) viewer.res.end();
    this.stop();
  }

  private leave(viewer: Viewer): void {
    if (!this.viewers.delete(viewer)) return;
    const left = (this.perAddress.get(viewer.address) ?? 1) - 1;
    if (left === 0) this.perAddress.delete(viewer.address);
    else this.perAddress.set(viewer.address, left);
    if (this.viewers.size === 0) this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One frame for everyone; a tick still computing when the next is due makes that one skip. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const payload = `id: ${++this.sequence}\ndata: ${JSON.stringify(await this.frame())}\n\n`;
      for (const viewer of this.viewers) {
        if (viewer.res.writableLength > this.limits.maxUnsentBytes) {
          this.logger.debug({ address: viewer.address }, "live viewer not reading; dropped");
          viewer.res.destroy();
          continue;
        }
        viewer.res.write(payload);
      }
    } catch (err) {
      this.logger.warn({ err }, "dashboard figures failed; live frame skipped");
    } finally {
      this.ticking = false;
    }
  }
}
