import { blake2b } from "@noble/hashes/blake2.js";
import { addressToPublicKey } from "./account.js";
import { NanoInputError } from "./errors.js";
import { bytesToHex, hexToBytes, parseHash } from "./hex.js";
import { sign, verify } from "./keys.js";

/** A state block as the node's JSON carries it (hex fields in either case, balance in raw). */
export interface StateBlock {
  account: string;
  previous: string;
  representative: string;
  balance: string;
  link: string;
  signature?: string | null;
  work?: string | null;
}

const PREAMBLE = new Uint8Array(32);
PREAMBLE[31] = 6;
const MAX_RAW = (1n << 128n) - 1n;

export function parseRaw(text: unknown, what = "balance"): bigint {
  if (typeof text !== "string" || !/^\d{1,39}$/.test(text)) {
    throw new NanoInputError(`${what} must be a decimal string of raw (1 Nano = 10^30 raw)`);
  }
  const value = BigInt(text);
  if (value > MAX_RAW) throw new NanoInputError(`${what} exceeds the 128-bit maximum`);
  return value;
}

/** blake2b-256(preamble || account || previous || representative || balance (16 bytes BE) || link). */
export function hashStateBlock(block: StateBlock): Uint8Array {
  const balance = hexToBytes(parseRaw(block.balance).toString(16).padStart(32, "0"), 16, "balance");
  const h = blake2b.create({ dkLen: 32 });
  h.update(PREAMBLE);
  h.update(addressToPublicKey(block.account));
  h.update(parseHash(block.previous, "previous"));
  h.update(addressToPublicKey(block.representative));
  h.update(balance);
  h.update(parseHash(block.link, "link"));
  return h.digest();
}

export function signStateBlock(block: StateBlock, secretKey: Uint8Array): StateBlock {
  const signature = sign(hashStateBlock(block), secretKey);
  return { ...block, signature: bytesToHex(signature).toUpperCase() };
}

/** True iff the block carries a signature by its own account over its hash. */
export function verifyStateBlock(block: StateBlock): boolean {
  if (!block.signature) return false;
  const signature = hexToBytes(block.signature, 64, "signature");
  return verify(signature, hashStateBlock(block), addressToPublicKey(block.account));
}

/**
 * The root a block's work is computed on: its `previous`, or for an account's first (open) block,
 * whose previous is zero, the account's public key.
 */
export function workRoot(block: Pick<StateBlock, "account" | "previous">): Uint8Array {
  const previous = parseHash(block.previous, "previous");
  return previous.every((b) => b === 0) ? addressToPublicKey(block.account) : previous;
}
