/**
 * The service API (docs/service-api.md): the JSON a service sends to `POST /service/` or `/service_ws/`, and
 * what it gets back. Every field failure has its own message, written for the developer of the
 * service; unknown fields (such as `"action": "work_generate"` from RPC proxies) are ignored.
 */
import { z } from "zod";
import { addressError } from "../nano/account.js";

/** Largest request body or WebSocket message accepted. A valid request is a few hundred bytes. */
export const MAX_REQUEST_BYTES = 4096;
/**
 * Longest `id` echoed, as JSON text: ids in the wild are counters and UUIDs (36 characters). A
 * bound keeps an answer as small as its request's useful part, whatever the client sends.
 */
export const MAX_ID_CHARS = 256;
const DEFAULT_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 30;

/**
 * The original DPoW hub's error texts. Each of our messages begins with one where the original had
 * one, and may add our detail after ": ", so clients that match on them keep working (docs/service-api.md).
 */
export const ORIGINAL = {
  incomplete: "Incorrect submission. Required information: user, api_key, hash",
  credentials: "Invalid credentials",
  hash: "Invalid hash",
  account: "Invalid account",
  difficulty: "Invalid difficulty",
  multiplier: "Multiplier must be a float",
  tooHigh: "Difficulty too high",
  tooLow: "Difficulty too low",
  timeout: `Timeout must be an integer between 1 and ${MAX_TIMEOUT_S}`,
  notJson: "Bad request (not json)",
  timedOut: "Timeout reached without work",
} as const;

const detail = (original: string, why: string) => `${original}: ${why}`;

export const errors = {
  notJson: ORIGINAL.notJson,
  notObject: detail(ORIGINAL.notJson, "expected a JSON object"),
  tooLarge: `Request too large (at most ${MAX_REQUEST_BYTES} bytes)`,
  credentials: detail(ORIGINAL.credentials, "unknown user or wrong api_key"),
  idTooLong: `Invalid id: at most ${MAX_ID_CHARS} characters of JSON are echoed; send a shorter id`,
  shuttingDown: "The hub is shutting down; retry in a moment",
  internal: "Internal error; the hub operator has the details in the log",
  unavailable: "Service unavailable: a store the hub needs is unreachable; retry in a moment",
} as const;

/** A number, or a string holding a decimal number (many Nano clients send numbers as strings). */
function numeric(message: string) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number({ error: message }),
  );
}

/** A required string field: missing is the original's "Incorrect submission", else `invalid`. */
function required(field: string, invalid: string, what: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined
        ? detail(ORIGINAL.incomplete, `${field} is missing`)
        : detail(invalid, `${field} must be a string: ${what}`),
  });
}

/** Whether `id` is small enough to echo (see MAX_ID_CHARS). */
export function echoableId(id: unknown): boolean {
  if (typeof id === "string") return id.length <= MAX_ID_CHARS;
  if (typeof id === "number" || typeof id === "boolean" || id === null) return true;
  // Objects and arrays: by the length of their JSON text (they came from JSON, so it exists).
  return JSON.stringify(id).length <= MAX_ID_CHARS;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const SERVICE_NAME = "the service name the hub operator registered";
const API_KEY = "the key the hub operator gave you";

export const serviceRequestSchema = z.object({
  user: required("user", ORIGINAL.incomplete, SERVICE_NAME)
    .min(1, detail(ORIGINAL.incomplete, `user is empty: give ${SERVICE_NAME}`))
    .max(200, detail(ORIGINAL.credentials, "user is longer than 200 characters")),
  api_key: required("api_key", ORIGINAL.incomplete, API_KEY)
    .min(1, detail(ORIGINAL.incomplete, `api_key is empty: give ${API_KEY}`))
    .max(200, detail(ORIGINAL.credentials, "api_key is longer than 200 characters")),
  hash: required("hash", ORIGINAL.hash, "the block hash (root), 64 hex digits").regex(
    HEX64,
    detail(ORIGINAL.hash, "must be exactly 64 hex digits (0-9, a-f)"),
  ),
  account: z
    .string({ error: detail(ORIGINAL.account, "must be a string (a nano_ address)") })
    .superRefine((value, ctx) => {
      const why = addressError(value);
      if (why !== null)
        ctx.addIssue({
          code: "custom",
          message: detail(ORIGINAL.account, `not a valid Nano address: ${why}`),
        });
    })
    .optional(),
  id: z.unknown().refine(echoableId, errors.idTooLong).optional(),
  // As the original's int(): a number or numeric string, rounded down, then checked for range.
  timeout: numeric(detail(ORIGINAL.timeout, "give a whole number of seconds"))
    .transform(Math.floor)
    .pipe(
      z
        .number()
        .min(1, detail(ORIGINAL.timeout, "at least 1 second"))
        .max(MAX_TIMEOUT_S, detail(ORIGINAL.timeout, `at most ${MAX_TIMEOUT_S} seconds`)),
    )
    .default(DEFAULT_TIMEOUT_S),
  difficulty: z
    .string({ error: detail(ORIGINAL.difficulty, "must be a string of 16 hex digits") })
    .regex(HEX16, detail(ORIGINAL.difficulty, "must be exactly 16 hex digits (0-9, a-f)"))
    .optional(),
  // No upper bound here: the difficulty policy refuses anything above the hub's maximum.
  multiplier: numeric(detail(ORIGINAL.multiplier, "give a positive number, e.g. 1 or 0.125"))
    .pipe(z.number().positive(detail(ORIGINAL.multiplier, "must be greater than 0")))
    .optional(),
});

export type ServiceRequest = z.infer<typeof serviceRequestSchema>;

export interface WorkResponse {
  work: string;
  hash: string;
  /** The value the returned work reaches (>= the difficulty asked for). */
  difficulty: string;
  /** That value as a multiplier of the hub's send base. */
  multiplier: string;
  id?: unknown;
  /** Set when the difficulty asked for was below the hub's lowest and was raised to it. */
  hint?: string;
}

export interface ErrorResponse {
  error: string;
  id?: unknown;
  timeout?: true;
}

export type ServiceResponse = WorkResponse | ErrorResponse;

/**
 * A parsed request, or the error to answer. A refused request carries its credentials when they are
 * well-formed strings: as the original did, the hub checks them before it says what else is wrong,
 * so a client without a key learns nothing but "Invalid credentials".
 */
export type ParsedRequest =
  | { ok: true; request: ServiceRequest }
  | {
      ok: false;
      code: "DPOW_API_BAD_REQUEST" | "DPOW_API_TOO_LARGE";
      error: ErrorResponse;
      credentials?: { user: string; api_key: string };
    };

const BAD = "DPOW_API_BAD_REQUEST";

/** Parses a raw request body; never throws. */
export function parseServiceRequest(body: string): ParsedRequest {
  if (Buffer.byteLength(body) > MAX_REQUEST_BYTES)
    return { ok: false, code: "DPOW_API_TOO_LARGE", error: { error: errors.tooLarge } };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, code: BAD, error: { error: errors.notJson } };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, code: BAD, error: { error: errors.notObject } };
  }
  const fields = json as Record<string, unknown>;
  const quick = plainRequest(fields);
  if (quick !== undefined) return { ok: true, request: quick };
  const parsed = serviceRequestSchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const message = parsed.error.issues[0]?.message ?? ORIGINAL.incomplete;
  const { id, user, api_key } = fields;
  const error: ErrorResponse =
    id === undefined || !echoableId(id) ? { error: message } : { error: message, id };
  const credentials =
    plausibleCredential(user) && plausibleCredential(api_key) ? { user, api_key } : undefined;
  return credentials === undefined
    ? { ok: false, code: BAD, error }
    : { ok: false, code: BAD, error, credentials };
}

function plausibleCredential(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= 200;
}

/**
 * The common request (credentials, hash, maybe an id) when it is well formed, checked by hand with
 * the schema's rules and giving the schema's result: zod costs a cache hit a good share of its
 * time. Anything else, every malformed request included, returns undefined and goes through the
 * schema, which owns the error messages.
 */
function plainRequest(json: Record<string, unknown>): ServiceRequest | undefined {
  const { user, api_key, hash, id } = json;
  if (id !== undefined && !echoableId(id)) return undefined;
  if (json.account !== undefined || json.timeout !== undefined) return undefined;
  if (json.difficulty !== undefined || json.multiplier !== undefined) return undefined;
  if (!plausibleCredential(user) || !plausibleCredential(api_key)) return undefined;
  if (typeof hash !== "string" || !HEX64.test(hash)) return undefined;
  const request: ServiceRequest = { user, api_key, hash, timeout: DEFAULT_TIMEOUT_S };
  if (id !== undefined) request.id = id;
  return request;
}
