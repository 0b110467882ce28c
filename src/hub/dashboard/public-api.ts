import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { API_PATHS, HISTORY_RANGES, type HistoryRange } from "../../protocol/dashboard.js";
import type { DashboardFigures } from "./figures.js";
import type { LiveFeed } from "./live-feed.js";

/**
 * Aggregates for anyone, read-only and without credentials, so other origins may read them
 * (another dashboard, a status page): no cookie or key is ever involved.
 */
const HEADERS = {
  "access-control-allow-origin": "*",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};
/** The longest `/api/v1/workers/ADDRESS` path worth reading: an address is 65 characters. */
const MAX_ADDRESS_CHARS = 80;

/** `GET /api/v1/...`: the dashboard's public JSON and live feed (README "Dashboard"). */
export class PublicApi {
  constructor(
    private readonly figures: DashboardFigures,
    private readonly live: LiveFeed,
    private readonly logger: Logger,
  ) {}

  /** Answers a path under /api/; false when it is none of the dashboard's. */
  serve(path: string, req: IncomingMessage, res: ServerResponse): boolean {
    if (!path.startsWith("/api/v1/")) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      this.reply(res, 405, { error: `Use GET ${path}` }, { allow: "GET, HEAD" });
      return true;
    }
    if (path === API_PATHS.summary) this.answer(res, this.figures.summary());
    else if (path === API_PATHS.live) {
      // A HEAD would hold a viewer's place for a stream it never reads.
      if (req.method === "GET") this.live.serve(req, res, HEADERS);
      else this.reply(res, 405, { error: `Use GET ${path}` }, { allow: "GET" });
    } else if (path === API_PATHS.history) this.history(req, res);
    else if (
      path.startsWith(API_PATHS.workers) &&
      path.length <= API_PATHS.workers.length + MAX_ADDRESS_CHARS
    ) {
      const address = path.slice(API_PATHS.workers.length);
      this.answer(
        res,
        this.figures
          .worker(address)
          .then((view) => view ?? { status: 400, error: `Not a Nano address: ${address}` }),
      );
    } else return false;
    return true;
  }

  private history(req: IncomingMessage, res: ServerResponse): void {
    const range = new URL(req.url ?? "/", "http://hub").searchParams.get("range") ?? "1h";
    if (!Object.hasOwn(HISTORY_RANGES, range)) {
      const ranges = Object.keys(HISTORY_RANGES).join(", ");
      this.reply(res, 400, { error: `range must be one of ${ranges}; got "${range.slice(0, 20)}"` });
      return;
    }
    this.answer(res, this.figures.history(range as HistoryRange));
  }

  /** Sends what `body` resolves to; `{status, error}` as that status, a failure as 503. */
  private answer(res: ServerResponse, body: Promise<object>): void {
    body.then(
      (value) => {
        if ("status" in value && "error" in value)
          this.reply(res, value.status as number, { error: value.error });
        else this.reply(res, 200, value);
      },
      (err: unknown) => {
        this.logger.warn({ err }, "dashboard figures failed");
        this.reply(res, 503, {
          error: "The hub's figures cannot be read just now (its database?); retry soon",
        });
      },
    );
  }

  private reply(res: ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
    if (res.destroyed) return;
    res
      .writeHead(status, { ...HEADERS, "content-type": "application/json", ...extra })
      .end(JSON.stringify(body));
  }
}
