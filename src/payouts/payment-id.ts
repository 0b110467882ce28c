import { blake2b } from "@noble/hashes/blake2.js";
import { bytesToHex } from "../nano/hex.js";

/**
 * The `id` of the node's `send` for one payment: the same for every retry of (plan, worker), so
 * the node answers a repeated send with the block it already made instead of paying again.
 */
export function paymentId(planId: string, worker: string): string {
  return bytesToHex(blake2b(new TextEncoder().encode(`${planId}\n${worker}`), { dkLen: 32 })).toUpperCase();
}
