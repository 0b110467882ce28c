/**
 * The service API (DESIGN 3.2): the JSON a service sends to `POST /service/` or `/service_ws/`, and
 * what it gets back. Every field failure has its own message, written for the developer of the
 * service; unknown fields (such as `"action": "work_generate"` from RPC proxies) are ignored.
 */
import { z } from "zod";
import { addressError } from "../nano/account.js";

/** Largest request body or WebSocket message accepted. A valid request is a few hundred bytes. */
export const MAX_REQUEST_BYTES = 4096;
const DEFAULT_TIMEOUT_S = 5;
const MAX_TIMEOUT_S = 30;
/** Multipliers beyond this are nonsense (the hub's own cap is far lower); refused, not clamped. */
const MAX_SANE_MULTIPLIER = 1e6;

export const errors = {
  notJson: "Bad request (not json)",
  notObject: "Bad request (expected a JSON object)",
  tooLarge: `Request too large (at most ${MAX_REQUEST_BYTES} bytes)`,
  credentials: "Wrong credentials: unknown user or wrong api_key",
  shuttingDown: "The hub is shutting down; retry in a moment",
  internal: "Internal error; the hub operator has the details in the log",
} as const;

/** A number, or a string holding a decimal number (many Nano clients send numbers as strings). */
function numeric(field: string, expected: string) {
  return z.preprocess(
    (v) => (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v),
    z.number({ error: `${field} must be ${expected}` }),
  );
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;

export const serviceRequestSchema = z.object({
  user: z
    .string({ error: "user is missing or not a string: give the service name the hub operator registered" })
    .min(1, "user is empty: give the service name the hub operator registered")
    .max(200, "user is too long"),
  api_key: z
    .string({ error: "api_key is missing or not a string: give the key the hub operator gave you" })
    .min(1, "api_key is empty: give the key the hub operator gave you")
    .max(200, "api_key is too long"),
  hash: z
    .string({ error: "hash is missing or not a string: give the block hash (root), 64 hex digits" })
    .regex(HEX64, "hash must be exactly 64 hex digits (0-9, a-f)"),
  account: z
    .string({ error: "account must be a string (a nano_ address)" })
    .superRefine((value, ctx) => {
      const why = addressError(value);
      if (why !== null)
        ctx.addIssue({ code: "custom", message: `account is not a valid Nano address: ${why}` });
    })
    .optional(),
  id: z.unknown().optional(),
  timeout: numeric("timeout", `a whole number of seconds from 1 to ${MAX_TIMEOUT_S}`)
    .pipe(
      z
        .number()
        .int(`timeout must be a whole number of seconds from 1 to ${MAX_TIMEOUT_S}`)
        .min(1, `timeout must be at least 1 second`)
        .max(MAX_TIMEOUT_S, `timeout must be at most ${MAX_TIMEOUT_S} seconds`),
    )
    .default(DEFAULT_TIMEOUT_S),
  difficulty: z
    .string({ error: "difficulty must be a string of 16 hex digits" })
    .regex(HEX16, "difficulty must be exactly 16 hex digits (0-9, a-f)")
    .optional(),
  multiplier: numeric("multiplier", "a positive number, e.g. 1 or 0.125")
    .pipe(
      z
        .number()
        .positive("difficulty out of range: multiplier must be greater than 0")
        .max(
          MAX_SANE_MULTIPLIER,
          `difficulty out of range: multiplier must be at most ${MAX_SANE_MULTIPLIER}`,
        ),
    )
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
  /** Set when the difficulty asked for was clamped to the hub's range. */
  hint?: string;
}

export interface ErrorResponse {
  error: string;
  id?: unknown;
  timeout?: true;
}

export type ServiceResponse = WorkResponse | ErrorResponse;

export type ParsedRequest = { ok: true; request: ServiceRequest } | { ok: false; error: ErrorResponse };

/** Parses a raw request body; never throws. */
export function parseServiceRequest(body: string): ParsedRequest {
  if (Buffer.byteLength(body) > MAX_REQUEST_BYTES) return { ok: false, error: { error: errors.tooLarge } };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, error: { error: errors.notJson } };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { ok: false, error: { error: errors.notObject } };
  }
  const quick = plainRequest(json as Record<string, unknown>);
  if (quick !== undefined) return { ok: true, request: quick };
  const id = (json as { id?: unknown }).id;
  const parsed = serviceRequestSchema.safeParse(json);
  if (parsed.success) return { ok: true, request: parsed.data };
  const message = parsed.error.issues[0]?.message ?? "Bad request";
  return { ok: false, error: id === undefined ? { error: message } : { error: message, id } };
}

/**
 * The common request (credentials, hash, maybe an id) when it is well formed, checked by hand with
 * the schema's rules and giving the schema's result: zod costs a cache hit a good share of its
 * time. Anything else, every malformed request included, returns undefined and goes through the
 * schema, which owns the error messages.
 */
function plainRequest(json: Record<string, unknown>): ServiceRequest | undefined {
  const { user, api_key, hash, id } = json;
  if (json.account !== undefined || json.timeout !== undefined) return undefined;
  if (json.difficulty !== undefined || json.multiplier !== undefined) return undefined;
  if (typeof user !== "string" || user.length < 1 || user.length > 200) return undefined;
  if (typeof api_key !== "string" || api_key.length < 1 || api_key.length > 200) return undefined;
  if (typeof hash !== "string" || !HEX64.test(hash)) return undefined;
  const request: ServiceRequest = { user, api_key, hash, timeout: DEFAULT_TIMEOUT_S };
  if (id !== undefined) request.id = id;
  return request;
}
