/**
 * The error catalogue: every error the project makes on purpose has a code here, with what it
 * means, the exit code the CLI ends with and, for the service API, the metric outcome and the REST
 * status (`--http-status codes`) of its answer. Each edge reads its mapping from here and nowhere
 * else: the CLI (`src/cli/output.ts`), the service API (`src/hub/service-api.ts`, the HTTP front and
 * the work peer) and the MQTT feedback (`src/hub/accounting.ts`). `docs/errors.md` and the README
 * list every code; test/errors/catalogue.test.ts holds them to it.
 *
 * Layers below the CLI throw a `CodedError` (or a subclass named for the failure); anything else
 * that reaches an edge is a bug and keeps its stack. This module imports nothing, so every layer,
 * `nano/` included, may use it.
 */

/** How the service API answers an error: its metric outcome and its REST status. */
export interface ApiAnswerSpec {
  outcome:
    | "bad_request"
    | "credentials"
    | "throttled"
    | "timeout"
    | "shutting_down"
    | "unavailable"
    | "internal";
  /** Sent only with `--http-status codes`; by default every answer is HTTP 200, as the original's. */
  status: number;
}

export interface ErrorSpec {
  /** What happened and what to do about it, as the documentation says it. */
  means: string;
  /** The CLI's exit code when this error ends a command. */
  exit: number;
  /** Service API errors: how the answer is counted and which REST status it gets. */
  api?: ApiAnswerSpec;
  /** Texts the answer begins with, as clients match them (the original DPoW's where it had one). */
  begins?: readonly string[];
}

/** Exit codes: 1 the operation failed (the input was read fine), 2 bad usage or configuration. */
const FAILED = 1;
const USAGE = 2;

export const CATALOGUE = {
  // Command line and configuration.
  DPOW_USAGE: {
    means: "a flag or argument is missing, malformed or contradicts another; the message names it",
    exit: USAGE,
  },
  DPOW_INVALID_OPTION: {
    means: "an option is out of range (threads, queue size, backend, allow list); the message names it",
    exit: USAGE,
  },
  DPOW_NANO_INPUT: {
    means: "not a valid Nano value (hash, work, difficulty, multiplier, address, key)",
    exit: FAILED,
  },
  DPOW_ENGINE_UNAVAILABLE: {
    means: "the PoW engine asked for cannot run here (no native addon, unsupported variant)",
    exit: USAGE,
  },
  DPOW_PORT_TAKEN: {
    means: "a port the hub listens on is taken; choose another with the flag named (0 picks a free one)",
    exit: USAGE,
  },
  DPOW_STORE_UNREACHABLE: {
    means:
      "a store or broker (SQLite file, Redis, PostgreSQL, MQTT broker) cannot be used at start; start it or fix its flag",
    exit: USAGE,
  },
  DPOW_BROKER_REFUSED: {
    means: "the external MQTT broker refused a subscription; check its ACL",
    exit: USAGE,
  },
  DPOW_LEDGER_REFUSED: {
    means: "a ledger operation was refused: the service name is taken or unknown",
    exit: USAGE,
  },
  DPOW_REQUEST_FAILED: {
    means: "`dpow request`: the hub refused, timed out or could not be reached (the message says which)",
    exit: FAILED,
  },
  // Payouts.
  DPOW_NODE_REFUSED: {
    means: "the Nano node refused an RPC; its own words follow; run the command again to resume",
    exit: FAILED,
  },
  DPOW_NODE_UNREACHABLE: {
    means: "the Nano node could not be reached or did not answer; check --node and run the command again",
    exit: FAILED,
  },
  DPOW_INSUFFICIENT_BALANCE: {
    means: "the payout account lacks the funds for what is left to pay; top it up and run the command again",
    exit: FAILED,
  },
  DPOW_PAYOUT_STATE: {
    means: "the payout plans' state does not allow this (a plan is unfinished, or none is open)",
    exit: FAILED,
  },
  // PoW engine and work servers.
  DPOW_WORK_CANCELLED: {
    means: "the work was cancelled by hash (work_cancel) before it was found",
    exit: FAILED,
  },
  DPOW_WORK_SERVER_FAILED: {
    means: "a work server answered an error, bad work or something that is not its RPC",
    exit: FAILED,
  },
  DPOW_WORK_SERVER_TIMEOUT: {
    means: "a work server took a request and did not answer in time",
    exit: FAILED,
  },
  DPOW_RPC_BAD_REQUEST: {
    means:
      "a work server RPC body is malformed (HTTP 400 from `dpow work-server`); the reply says which field",
    exit: FAILED,
  },
  // Service API (`POST /service/`, `/service_ws/`) and the work peer listener.
  DPOW_API_BAD_REQUEST: {
    means:
      "a request field is missing or malformed, or the difficulty is out of range; the answer names the field",
    exit: FAILED,
    api: { outcome: "bad_request", status: 400 },
    begins: [
      "Incorrect submission. Required information: user, api_key, hash",
      "Invalid hash",
      "Invalid account",
      "Invalid difficulty",
      "Multiplier must be a float",
      "Difficulty too high",
      "Difficulty too low",
      "Timeout must be an integer between 1 and 30",
      "Bad request (not json)",
      "Invalid id",
      "Invalid credentials: user is longer",
      "Invalid credentials: api_key is longer",
      "Unknown command",
    ],
  },
  DPOW_API_TOO_LARGE: {
    means: "the request body is over 4096 bytes (the HTTP connection closes)",
    exit: FAILED,
    api: { outcome: "bad_request", status: 413 },
    begins: ["Request too large"],
  },
  DPOW_API_CREDENTIALS: {
    means: "unknown user or wrong api_key",
    exit: FAILED,
    api: { outcome: "credentials", status: 401 },
    begins: ["Invalid credentials", "Work peer service"],
  },
  DPOW_API_THROTTLED: {
    means: "the service's token bucket is empty; slow down and retry",
    exit: FAILED,
    api: { outcome: "throttled", status: 429 },
    begins: ["Throttled"],
  },
  DPOW_API_TIMEOUT: {
    means: 'no worker returned work in time (the answer adds "timeout": true); retry the same hash',
    exit: FAILED,
    api: { outcome: "timeout", status: 504 },
    begins: ["Timeout reached without work"],
  },
  DPOW_API_SHUTTING_DOWN: {
    means: "the hub is shutting down; retry in a moment (another replica may answer)",
    exit: FAILED,
    api: { outcome: "shutting_down", status: 503 },
    begins: ["The hub is shutting down"],
  },
  DPOW_API_UNAVAILABLE: {
    means: "a store the hub needs (PostgreSQL, Redis) is unreachable; retry in a moment",
    exit: FAILED,
    api: { outcome: "unavailable", status: 503 },
    begins: ["Service unavailable"],
  },
  DPOW_API_INTERNAL: {
    means: "a bug in the hub; the operator's log has the details",
    exit: FAILED,
    api: { outcome: "internal", status: 500 },
    begins: ["Internal error"],
  },
  DPOW_API_TOO_MANY_IN_FLIGHT: {
    means:
      "one `/service_ws/` socket has too many unanswered requests; wait for answers or open another socket",
    exit: FAILED,
    begins: ["Too many requests in flight"],
  },
  DPOW_API_METHOD: {
    means: "`/service/` takes POST only (HTTP 405); the work peer takes POST only",
    exit: FAILED,
    begins: ["Use POST", "Can only POST requests"],
  },
  DPOW_HTTP_NOT_FOUND: {
    means: "no such path on the hub's HTTP port (HTTP 404)",
    exit: FAILED,
    begins: ["Not found"],
  },
  DPOW_PEER_FORBIDDEN: {
    means: "the work peer listener serves only the addresses in --work-peer-allow",
    exit: FAILED,
    begins: ["Forbidden"],
  },
  DPOW_PEER_CANCELLED: {
    means: "the node cancelled its work_generate (work_cancel), or the hub is closing",
    exit: FAILED,
    begins: ["Cancelled"],
  },
  // MQTT (workers).
  DPOW_MQTT_PAYOUT_INVALID: {
    means:
      "valid work named an invalid payout address: the services got it, nobody is credited; sent on client/ADDRESS",
    exit: FAILED,
    begins: ["Work accepted but account"],
  },
  DPOW_MQTT_LOGIN_REFUSED: {
    means: "bad MQTT user name or password (CONNACK 4); workers log in as client / client",
    exit: FAILED,
  },
  DPOW_MQTT_LOGIN_THROTTLED: {
    means: "too many failed MQTT logins from this address (CONNACK 3); retry later",
    exit: FAILED,
  },
  DPOW_MQTT_NOT_ALLOWED: {
    means: "this MQTT account may not publish to that topic (see docs/broker.md)",
    exit: FAILED,
  },
  DPOW_MQTT_COOL_DOWN: {
    means: "this connection sent too many invalid results and is refused for a while",
    exit: FAILED,
  },
  DPOW_MQTT_SESSION_LIMIT: {
    means:
      "every kept persistent session is online: a new session's subscription is refused until one leaves",
    exit: FAILED,
  },
  DPOW_INTERNAL: {
    means: "a bug: not an error anyone can fix by changing input; please report it with its stack",
    exit: FAILED,
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof CATALOGUE;

/** An error with a catalogue code; the message is written for whoever can fix it. */
export class CodedError extends Error {
  override name = "CodedError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** The exit code the CLI ends with for this error. */
  get exitCode(): number {
    return CATALOGUE[this.code].exit;
  }
}

/** How the service API answers `code`; only the service API's codes have an answer. */
export function apiAnswerOf(code: ApiErrorCode): ApiAnswerSpec {
  return CATALOGUE[code].api;
}

export type ApiErrorCode = {
  [C in ErrorCode]: (typeof CATALOGUE)[C] extends { api: ApiAnswerSpec } ? C : never;
}[ErrorCode];
