/**
 * What a hub's error answer means to a client. The hub's texts begin with the original DPoW's
 * (docs/service-api.md: `Invalid credentials`, `Invalid hash`, `Timeout reached without work`, ...), and may
 * carry a precise detail after a colon; older hubs of this project used other words for some of
 * them. Both are matched by how they begin.
 */

export type DpowErrorCode = "credentials" | "timeout" | "bad_request" | "throttled" | "unavailable";

/** Any failure of a DpowClient request; `code` says which kind. */
export class DpowError extends Error {
  override name = "DpowError";
  constructor(
    readonly code: DpowErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Unknown user or wrong API key: fix the client's configuration (retrying will not help). */
export class DpowCredentialsError extends DpowError {
  override name = "DpowCredentialsError";
  constructor(message: string) {
    super("credentials", message);
  }
}

/** The hub had no work within the request's timeout; retrying with the same hash is cheap. */
export class DpowTimeoutError extends DpowError {
  override name = "DpowTimeoutError";
  constructor(message: string) {
    super("timeout", message);
  }
}

/** The hub refused the request itself (hash, difficulty, account, timeout ...). */
export class DpowBadRequestError extends DpowError {
  override name = "DpowBadRequestError";
  constructor(message: string) {
    super("bad_request", message);
  }
}

/** The hub cannot serve now: unreachable, shutting down, failing, or returned work that was not valid. */
export class DpowUnavailableError extends DpowError {
  override name = "DpowUnavailableError";
  constructor(message: string, code: "unavailable" | "throttled" = "unavailable") {
    super(code, message);
  }
}

/** The service made more requests than the hub allows it: slow down and retry. */
export class DpowThrottledError extends DpowUnavailableError {
  override name = "DpowThrottledError";
  constructor(message: string) {
    super(message, "throttled");
  }
}

const CREDENTIALS = ["Invalid credentials", "Wrong credentials"];
const TIMEOUT = ["Timeout reached", "Timeout:"];
const THROTTLED = ["Throttled", "Too many requests"];
const UNAVAILABLE = ["The hub is shutting down", "Internal error", "Service unavailable"];

const startsWithAny = (text: string, prefixes: readonly string[]) => prefixes.some((p) => text.startsWith(p));

/** The typed error for a hub's `{"error": ...}` answer (anything not recognised is a bad request). */
export function errorFromAnswer(answer: { error: string; timeout?: unknown }): DpowError {
  const text = answer.error;
  if (startsWithAny(text, CREDENTIALS)) return new DpowCredentialsError(text);
  if (answer.timeout === true || startsWithAny(text, TIMEOUT)) return new DpowTimeoutError(text);
  if (startsWithAny(text, THROTTLED)) return new DpowThrottledError(text);
  if (startsWithAny(text, UNAVAILABLE)) return new DpowUnavailableError(text);
  return new DpowBadRequestError(text);
}
