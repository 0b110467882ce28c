/**
 * nano-work-server's RPC: parsing a request into a command, with the same error texts, so clients
 * written for nano-work-server (the node, DPoW workers, wallets) need no change.
 */
import { CodedError } from "../../errors.js";
import { fromMultiplier, SEND_THRESHOLD } from "../../nano/difficulty.js";

export type RpcCommand =
  | { action: "work_generate"; root: Uint8Array; threshold: bigint }
  | { action: "work_cancel"; root: Uint8Array }
  | { action: "work_validate"; root: Uint8Array; work: bigint; threshold: bigint | undefined }
  | { action: "benchmark"; threshold: bigint; count: number }
  | { action: "status" };

export interface RpcError {
  error: string;
  hint?: string;
}

/** A parse failure: the reply to send as is (HTTP 400). */
export class RpcRequestError extends CodedError {
  override name = "RpcRequestError";
  constructor(readonly reply: RpcError) {
    super("DPOW_RPC_BAD_REQUEST", reply.hint ? `${reply.error}: ${reply.hint}` : reply.error);
  }
}

/** Benchmarks run one job after another on the shared pool; a bound keeps one request from owning it. */
export const MAX_BENCHMARK_COUNT = 1000;

export const SUPPORTED = "work_generate, work_cancel, work_validate, benchmark, status";

const HEX = /^[0-9a-fA-F]*$/;
const DECIMAL = /^\+?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function fail(error: string, hint: string): never {
  throw new RpcRequestError({ error, hint });
}

function deserialize(hint: string): never {
  return fail("Failed to deserialize JSON", hint);
}

/** Hex of at most `bytes` bytes (shorter values are zero-extended on the left, like the original). */
function hexBytes(text: string, bytes: number): Uint8Array | "empty" | "invalid" | "long" {
  if (text.length === 0) return "empty";
  if (text.length % 2 !== 0 || !HEX.test(text)) return "invalid";
  if (text.length > 2 * bytes) return "long";
  const out = new Uint8Array(bytes);
  out.set(Buffer.from(text, "hex"), bytes - text.length / 2);
  return out;
}

function parseRoot(body: Record<string, unknown>): Uint8Array {
  if (!("hash" in body)) deserialize("Hash field missing");
  const text = body.hash;
  if (typeof text !== "string") fail("Bad block hash", "Expecting a hex string");
  const bytes = hexBytes(text, 32);
  if (bytes === "empty") fail("Bad block hash", "Hash is empty. Expecting a hex string");
  if (bytes === "invalid") fail("Bad block hash", "Expecting a hex string");
  if (bytes === "long") fail("Bad block hash", "Hash is too long (should be 32 bytes)");
  if (text.length < 64) fail("Bad block hash", "Hash is too short (should be 32 bytes)");
  return bytes;
}

function parseWork(body: Record<string, unknown>): bigint {
  if (!("work" in body)) deserialize("Work field missing");
  const text = body.work;
  if (typeof text !== "string") deserialize("Expecting a hex string for work");
  const bytes = hexBytes(text, 8);
  if (bytes === "empty") deserialize("Work is empty. Expecting a hex string");
  if (bytes === "invalid") deserialize("Expecting a hex string for work");
  if (bytes === "long") deserialize("Work is too long (should be 8 bytes)");
  return BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

/** The threshold asked for: multiplier (of the send threshold) overrides difficulty; none -> undefined. */
function parseThreshold(body: Record<string, unknown>): bigint | undefined {
  if ("multiplier" in body) {
    const raw = body.multiplier;
    // A decimal float, as nano-work-server reads it; Number() alone would also take "0x10" or "0b1".
    const value = typeof raw === "string" && DECIMAL.test(raw.trim()) ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      deserialize("Expecting a positive number for multiplier");
    }
    return fromMultiplier(value, SEND_THRESHOLD);
  }
  if ("difficulty" in body) {
    const text = body.difficulty;
    if (typeof text !== "string") deserialize("Expecting a hex string for difficulty");
    if (!/^[0-9a-fA-F]{1,16}$/.test(text)) {
      deserialize("Threshold not a valid unsigned long (u64). Example: 'fffffff800000000'");
    }
    return BigInt(`0x${text}`);
  }
  return undefined;
}

function parseCount(body: Record<string, unknown>): number {
  if (!("count" in body)) deserialize("count field missing");
  const raw = body.count;
  const value = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    deserialize("Expecting a positive number for count");
  }
  if (value > MAX_BENCHMARK_COUNT) deserialize(`count must be at most ${MAX_BENCHMARK_COUNT}`);
  return value;
}

/** Parses a decoded JSON body into a command; throws RpcRequestError with the reply otherwise. */
export function parseRpc(body: unknown): RpcCommand {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    deserialize("Expecting a JSON object");
  const request = body as Record<string, unknown>;
  if (!("action" in request)) deserialize("Action field missing");
  switch (request.action) {
    case "work_generate":
      return {
        action: "work_generate",
        root: parseRoot(request),
        threshold: parseThreshold(request) ?? SEND_THRESHOLD,
      };
    case "work_cancel":
      return { action: "work_cancel", root: parseRoot(request) };
    case "work_validate":
      return {
        action: "work_validate",
        root: parseRoot(request),
        work: parseWork(request),
        threshold: parseThreshold(request),
      };
    case "benchmark": {
      const threshold = parseThreshold(request) ?? SEND_THRESHOLD;
      return { action: "benchmark", threshold, count: parseCount(request) };
    }
    case "status":
    case "work_server_status":
      return { action: "status" };
    default:
      return fail("Unknown command", `Supported commands: ${SUPPORTED}`);
  }
}
