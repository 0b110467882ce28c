/**
 * MQTT topic names and payload codecs between the hub and workers (docs/wire-protocol.md), compatible with the
 * original DPoW protocol. Payloads come from anyone holding the public worker account, so parsers
 * return a reason instead of throwing; formatters take values the hub already holds and throw on a
 * programming error.
 */
import { addressError, formatHash, formatU64, NanoInputError, parseHash, parseU64 } from "../nano/index.js";

const WORK_TYPES = ["precache", "ondemand"] as const;
export type WorkType = (typeof WORK_TYPES)[number];

export const topics = {
  work: (type: WorkType) => `work/${type}`,
  result: (type: WorkType) => `result/${type}`,
  cancel: (type: WorkType) => `cancel/${type}`,
  /** Per-worker counters and errors, keyed by the payout address the worker sent. */
  client: (address: string) => `client/${address}`,
  heartbeat: "heartbeat",
  statistics: "statistics",
  /** What every hub replica subscribes to. */
  allResults: "result/#",
} as const;

/** Where the hub's HTTP port serves MQTT over WebSocket (browser workers, `ws://HOST/mqtt`). */
export const MQTT_WEBSOCKET_PATH = "/mqtt";

/** The work type of a `work/`, `result/` or `cancel/` topic, or null for any other topic. */
export function workTypeOf(topic: string): WorkType | null {
  const [kind, type, ...rest] = topic.split("/");
  if (rest.length > 0 || (kind !== "work" && kind !== "result" && kind !== "cancel")) return null;
  return (WORK_TYPES as readonly string[]).includes(type ?? "") ? (type as WorkType) : null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** `work/*`: a job for workers. `hash` is canonical (upper-case). */
export interface WorkPayload {
  hash: string;
  difficulty: bigint;
}

/** `result/*`: a worker's answer. `addressError` is set when the payout address is not a valid Nano address. */
export interface ResultPayload {
  hash: string;
  work: bigint;
  address: string;
  addressError: string | null;
}

/** Far above the longest valid payload (a result is 147 characters); anything longer is refused unread. */
export const MAX_PAYLOAD_BYTES = 256;

/**
 * A payout address ends up in a topic name (`client/ADDRESS`), so beyond being a valid Nano address
 * it must be something that may be published to at all: no wildcards, separators or control bytes.
 * An address that passes this but is not a valid Nano address is answered on its topic.
 */
const TOPIC_SAFE_ADDRESS = /^[A-Za-z0-9_]{1,100}$/;

/**
 * Payloads are bytes from the broker (a Buffer in Node, a Uint8Array in a browser), decoded as
 * Buffer#toString does: a leading byte-order mark is kept (and so refused), not silently dropped.
 */
export const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

export function formatWorkPayload(work: WorkPayload): string {
  return `${canonicalHash(work.hash)},${formatU64(work.difficulty)}`;
}

export function parseWorkPayload(payload: Uint8Array | string): Parsed<WorkPayload> {
  return parseFields(payload, 2, ([hash, difficulty]) => ({
    hash: canonicalHash(hash),
    difficulty: parseU64(difficulty, "difficulty"),
  }));
}

export function formatResultPayload(result: Omit<ResultPayload, "addressError">): string {
  return `${canonicalHash(result.hash)},${formatU64(result.work)},${result.address}`;
}

export function parseResultPayload(payload: Uint8Array | string): Parsed<ResultPayload> {
  return parseFields(payload, 3, ([hash, work, address]) => {
    if (!TOPIC_SAFE_ADDRESS.test(address ?? "")) {
      throw new NanoInputError("payout address must be 1 to 100 letters, digits or underscores");
    }
    return {
      hash: canonicalHash(hash),
      work: parseU64(work, "work"),
      address: address as string,
      addressError: addressError(address),
    };
  });
}

export function formatCancelPayload(hash: string): string {
  return canonicalHash(hash);
}

export function parseCancelPayload(payload: Uint8Array | string): Parsed<string> {
  return parseFields(payload, 1, ([hash]) => canonicalHash(hash));
}

function canonicalHash(hash: unknown): string {
  return formatHash(parseHash(hash));
}

function parseFields<T>(
  payload: Uint8Array | string,
  count: number,
  build: (fields: (string | undefined)[]) => T,
): Parsed<T> {
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return { ok: false, error: `payload is longer than ${MAX_PAYLOAD_BYTES} bytes` };
  }
  const fields = (typeof payload === "string" ? payload : utf8.decode(payload)).split(",");
  if (fields.length !== count) {
    return { ok: false, error: `expected ${count} comma-separated field(s), got ${fields.length}` };
  }
  try {
    return { ok: true, value: build(fields) };
  } catch (err) {
    if (err instanceof NanoInputError) return { ok: false, error: err.message };
    throw err;
  }
}
