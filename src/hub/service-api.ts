import type { Logger } from "pino";
import { type ApiErrorCode, apiAnswerOf } from "../errors.js";
import { formatU64 } from "../nano/hex.js";
import {
  type ErrorResponse,
  errors,
  ORIGINAL,
  parseServiceRequest,
  type ServiceResponse,
} from "../protocol/service.js";
import { deadline, TIMED_OUT } from "./deadline.js";
import type { DifficultyPolicy } from "./difficulty-policy.js";
import type { HubMetrics, RequestOutcome } from "./metrics.js";
import type { RunningPrecache } from "./precache/index.js";
import type { RateLimiter } from "./rate-limiter.js";
import type { ServiceCounters } from "./service-counters.js";
import type { ServiceDirectory } from "./service-directory.js";
import { isStoreOutage } from "./store-outage.js";
import type { WorkFlow } from "./work-flow.js";

export interface ApiAnswer {
  outcome: RequestOutcome;
  /**
   * The REST status of this outcome, sent by `POST /service/` only with `--http-status codes`: by
   * default every answer is 200, as the original's (clients such as NanoRPCProxy throw away the
   * body of any other status). The WebSocket API sends only the body.
   */
  status: number;
  body: ServiceResponse;
}

/** What serving a request for work needs, whichever front it came in by (service API, work peer). */
export interface RequestDeps {
  limiter: RateLimiter;
  policy: DifficultyPolicy;
  flow: WorkFlow;
  counters: ServiceCounters;
  metrics: HubMetrics;
  logger: Logger;
  /** Precache, when on: told which accounts the requests name. */
  precache?: Pick<RunningPrecache, "requested">;
}

export interface ServiceApiDeps extends RequestDeps {
  directory: ServiceDirectory;
}

/** One service request, from raw body to answer; the same for HTTP and WebSocket. Never throws. */
export class ServiceApi {
  private nextRequestId = 0;

  constructor(private readonly deps: ServiceApiDeps) {}

  async handle(body: string): Promise<ApiAnswer> {
    const requestId = ++this.nextRequestId;
    try {
      return await this.serve(body, requestId);
    } catch (err) {
      if (isStoreOutage(err)) {
        this.deps.logger.warn({ err, requestId }, "service request failed: a store is unreachable");
        return this.fail("DPOW_API_UNAVAILABLE", { error: errors.unavailable });
      }
      this.deps.logger.error({ err, requestId }, "service request failed");
      return this.fail("DPOW_API_INTERNAL", { error: errors.internal });
    }
  }

  private async serve(body: string, requestId: number): Promise<ApiAnswer> {
    const started = performance.now();
    const { directory, limiter, policy, flow, counters, metrics, logger } = this.deps;
    const parsed = parseServiceRequest(body);
    if (!parsed.ok) {
      // Credentials first, as the original: without a key, nothing but "Invalid credentials".
      const { credentials } = parsed;
      if (credentials && !(await directory.authenticate(credentials.user, credentials.api_key))) {
        const { id } = parsed.error;
        return this.fail(
          "DPOW_API_CREDENTIALS",
          id === undefined ? { error: errors.credentials } : { error: errors.credentials, id },
        );
      }
      return this.fail(parsed.code, parsed.error);
    }
    const request = parsed.request;
    const withId = (response: ErrorResponse): ErrorResponse =>
      request.id === undefined ? response : { ...response, id: request.id };

    // The request's timeout covers the whole request, its service's look-up included.
    const timeoutMs = request.timeout * 1000;
    const expiry = deadline(timeoutMs);
    const service = await Promise.race([
      directory.authenticate(request.user, request.api_key),
      expiry.expired,
    ]);
    expiry.cancel();
    if (service === TIMED_OUT) {
      logger.warn({ requestId }, "service request failed: its service's look-up outlasted the timeout");
      return this.fail("DPOW_API_UNAVAILABLE", withId({ error: errors.unavailable }));
    }
    if (!service) return this.fail("DPOW_API_CREDENTIALS", withId({ error: errors.credentials }));
    if (!limiter.take(service.name, service.rate, service.burst)) {
      const error = `Throttled: service "${service.name}" may make ${service.rate} requests/s (burst ${service.burst}); slow down and retry`;
      return this.fail("DPOW_API_THROTTLED", withId({ error }));
    }

    // The schema checked it is 64 hex digits: upper case is its canonical form (see formatHash).
    const hash = request.hash.toUpperCase();
    if (request.account !== undefined) this.deps.precache?.requested(hash, request.account);
    const resolved = policy.resolve(request);
    if (resolved.error !== undefined)
      return this.fail("DPOW_API_BAD_REQUEST", withId({ error: resolved.error }));
    const { difficulty, hint } = resolved;
    const outcome = await flow.work({
      hash,
      difficulty,
      timeoutMs: Math.max(0, timeoutMs - (performance.now() - started)),
      service: service.name,
    });
    if (outcome.kind === "closed")
      return this.fail("DPOW_API_SHUTTING_DOWN", withId({ error: errors.shuttingDown }));
    if (outcome.kind === "timeout") {
      logger.info({ requestId, hash, service: service.name }, "request timed out");
      const error = `${ORIGINAL.timedOut}: no worker returned work within ${request.timeout} s; retry with the same hash (the job stays open a little longer)`;
      return this.fail("DPOW_API_TIMEOUT", withId({ error, timeout: true }));
    }
    // The last line of defence: never hand out work that fails at the difficulty asked for. The
    // flow computed `value` from this work (hashing it twice would cost a cache hit a third of its time).
    const { value } = outcome;
    if (value < difficulty) {
      logger.error(
        { requestId, hash, work: formatU64(outcome.work) },
        "work failed re-validation; not returned",
      );
      return this.fail("DPOW_API_INTERNAL", withId({ error: errors.internal }));
    }
    counters.count(service.name, outcome.kind === "cache" ? "precache" : "ondemand");
    metrics.request(outcome.kind, (performance.now() - started) / 1000);
    logger.debug({ requestId, hash, service: service.name, source: outcome.kind }, "work served");
    return {
      outcome: outcome.kind,
      status: 200,
      body: {
        work: formatU64(outcome.work),
        hash,
        difficulty: formatU64(value),
        multiplier: String(policy.multiplierOf(value)),
        ...(request.id === undefined ? {} : { id: request.id }),
        ...(hint === undefined ? {} : { hint }),
      },
    };
  }

  /** The service API's one error edge: the catalogue says how `code` is counted and its status. */
  private fail(code: ApiErrorCode, body: ErrorResponse): ApiAnswer {
    const { outcome, status } = apiAnswerOf(code);
    this.deps.metrics.request(outcome);
    return { outcome, status, body };
  }
}
