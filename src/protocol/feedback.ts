/**
 * What the hub tells one payout address on `client/ADDRESS` (docs/wire-protocol.md): its credit counters after
 * each reward, or an error about a result it sent. The payload comes over the network, so it is
 * parsed with a schema and anything unexpected is reported rather than trusted.
 */
import { z } from "zod";
import { utf8 } from "./topics.js";

/**
 * A counter: a whole number, or its decimal digits as a string. Not z.coerce, which would read
 * null, "", [] and false as 0 and true as 1.
 */
const count = z
  .union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
  .pipe(z.number().int().nonnegative());
const HASH = /^[0-9a-fA-F]{64}$/;

const feedbackSchema = z.union([
  z.object({ error: z.string().max(500) }),
  z.object({
    precache: count,
    ondemand: count,
    snapshot_precache: count.optional(),
    snapshot_ondemand: count.optional(),
    block_rewarded: z.string().regex(HASH, "block_rewarded must be a block hash (64 hex digits)").optional(),
    /** This hub's addition: the address's share of the current payout period, 0..1. */
    share: z.number().min(0).max(1).optional(),
  }),
]);

export type Feedback =
  | { kind: "error"; error: string }
  | {
      kind: "credits";
      precache: number;
      ondemand: number;
      /** The counters at the last payout, when the hub sends them. */
      snapshot?: { precache: number; ondemand: number };
      blockRewarded?: string;
      /** The address's share of the current payout period's weighted work (0..1), when the hub says. */
      share?: number;
    };

const MAX_FEEDBACK_BYTES = 4096;

export function parseFeedback(payload: Uint8Array): Feedback | { kind: "invalid"; reason: string } {
  if (payload.length > MAX_FEEDBACK_BYTES) return { kind: "invalid", reason: "message too long" };
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(payload));
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  const parsed = feedbackSchema.safeParse(json);
  if (!parsed.success) return { kind: "invalid", reason: parsed.error.issues[0]?.message ?? "bad shape" };
  const value = parsed.data;
  if ("error" in value) return { kind: "error", error: value.error };
  const snapshot =
    value.snapshot_precache !== undefined && value.snapshot_ondemand !== undefined
      ? { precache: value.snapshot_precache, ondemand: value.snapshot_ondemand }
      : undefined;
  return {
    kind: "credits",
    precache: value.precache,
    ondemand: value.ondemand,
    ...(snapshot ? { snapshot } : {}),
    ...(value.block_rewarded ? { blockRewarded: value.block_rewarded.toUpperCase() } : {}),
    ...(value.share !== undefined ? { share: value.share } : {}),
  };
}
