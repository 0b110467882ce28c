/**
 * A confirmed block as the node announces it (docs/node-interfaces.md): on its WebSocket, as
 * `{"topic":"confirmation","message":{"account","hash","block":{...}}}`, or in its HTTP callback, as
 * `{"account","hash","block":"<the block JSON as a string>"}`. Both come from outside the hub (the
 * callback URL is on the public HTTP port), so they are parsed with a schema and later checked
 * against the block's own hash and signature before the hub acts on them.
 */
import { z } from "zod";
import { addressToPublicKey, publicKeyToAddress } from "../../nano/account.js";
import { hashStateBlock, type StateBlock, verifyStateBlock, workRoot } from "../../nano/block.js";
import { NanoInputError } from "../../nano/errors.js";
import { formatHash, parseHash } from "../../nano/hex.js";

/** A node callback or feed message is about 1 KiB; anything far larger is not one. */
export const MAX_CONFIRMATION_BYTES = 16 * 1024;

export interface Confirmation {
  /** Canonical `nano_` address. */
  account: string;
  /** Upper-case hex: the confirmed block, which is the root of the account's next block. */
  hash: string;
  /** Upper-case hex: the root this block's own work was computed on (its previous, or the account key when it opens the account). */
  root: string;
  /** Upper-case hex of `previous` (zeros for an open block). */
  previous: string;
  /** The block itself, kept to verify hash and signature only when the hub is about to act on it. */
  block: StateBlock;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;

const stateBlockSchema = z.object({
  type: z.literal("state"),
  account: z.string().max(70),
  previous: z.string().regex(HEX64),
  representative: z.string().max(70),
  balance: z.string().max(40),
  link: z.string().regex(HEX64),
  signature: z.string().max(128),
  work: z.string().max(16).optional(),
});

const feedMessageSchema = z.object({
  topic: z.literal("confirmation"),
  message: z.object({ hash: z.string().regex(HEX64), block: stateBlockSchema }),
});

const callbackSchema = z.object({
  hash: z.string().regex(HEX64),
  block: z.string().max(MAX_CONFIRMATION_BYTES),
});

export type ParsedConfirmation = { ok: true; confirmation: Confirmation } | { ok: false; error: string };

/**
 * A message from the node's WebSocket. Acks, pings and other topics are `ignored` (not errors);
 * legacy (non-state) blocks are ignored too: no account can create one since epoch 2.
 */
export function parseFeedMessage(text: string): ParsedConfirmation | { ok: "ignored" } {
  // The feed's socket caps messages at this size too; the parser does not rely on it.
  if (text.length > MAX_CONFIRMATION_BYTES)
    return { ok: false, error: "message too large for a confirmation" };
  const json = parseJson(text);
  if (json === undefined) return { ok: false, error: "not JSON" };
  if ((json as { topic?: unknown } | null)?.topic !== "confirmation") return { ok: "ignored" };
  const parsed = feedMessageSchema.safeParse(json);
  if (!parsed.success) return isLegacy(json) ? { ok: "ignored" } : { ok: false, error: issue(parsed.error) };
  return fromBlock(parsed.data.message.hash, parsed.data.message.block);
}

/** The body of the node's HTTP callback, where `block` is itself a JSON string. */
export function parseCallbackBody(text: string): ParsedConfirmation | { ok: "ignored" } {
  if (text.length > MAX_CONFIRMATION_BYTES) return { ok: false, error: "body too large for a confirmation" };
  const body = callbackSchema.safeParse(parseJson(text));
  if (!body.success)
    return { ok: false, error: `expected {"hash", "block": "<block JSON>"}: ${issue(body.error)}` };
  const inner = parseJson(body.data.block);
  const block = stateBlockSchema.safeParse(inner);
  if (!block.success) {
    return isState(inner) ? { ok: false, error: `block: ${issue(block.error)}` } : { ok: "ignored" };
  }
  return fromBlock(body.data.hash, block.data);
}

/** True when `hash` is really this block's hash and the block is signed by its account. */
export function isAuthentic(confirmation: Confirmation): boolean {
  try {
    return (
      formatHash(hashStateBlock(confirmation.block)) === confirmation.hash &&
      verifyStateBlock(confirmation.block)
    );
  } catch (err) {
    if (err instanceof NanoInputError) return false;
    throw err;
  }
}

function fromBlock(hash: string, block: z.infer<typeof stateBlockSchema>): ParsedConfirmation {
  try {
    const account = publicKeyToAddress(addressToPublicKey(block.account));
    const stateBlock: StateBlock = { ...block, account };
    return {
      ok: true,
      confirmation: {
        account,
        hash: formatHash(parseHash(hash)),
        root: formatHash(workRoot(stateBlock)),
        previous: formatHash(parseHash(block.previous)),
        block: stateBlock,
      },
    };
  } catch (err) {
    if (err instanceof NanoInputError) return { ok: false, error: err.message };
    throw err;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isState(block: unknown): boolean {
  return (block as { type?: unknown } | null)?.type === "state";
}

function isLegacy(json: unknown): boolean {
  const block = (json as { message?: { block?: { type?: unknown } } }).message?.block;
  return typeof block?.type === "string" && block.type !== "state";
}

function issue(error: z.ZodError): string {
  const first = error.issues[0];
  return first ? `${first.path.join(".") || "body"}: ${first.message}` : "invalid";
}
