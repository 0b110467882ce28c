import { bytesToHex as nobleBytesToHex, hexToBytes as nobleHexToBytes } from "@noble/hashes/utils.js";
import { NanoInputError, quoted } from "./errors.js";

const HEX = /^[0-9a-fA-F]*$/;

/** Parses exactly `bytes` bytes of hex (either case). `what` names the value in the error message. */
export function hexToBytes(text: unknown, bytes: number, what: string): Uint8Array {
  if (typeof text !== "string")
    throw new NanoInputError(`${what} must be a string of ${bytes * 2} hex digits`);
  if (text.length !== bytes * 2 || !HEX.test(text)) {
    throw new NanoInputError(
      `${what} must be exactly ${bytes * 2} hex digits (0-9, a-f), got ${quoted(text)}`,
    );
  }
  return nobleHexToBytes(text);
}

/** Lower-case hex; the same in Node and in a browser (nano/ runs in both). */
export function bytesToHex(bytes: Uint8Array): string {
  return nobleBytesToHex(bytes);
}

/** A 32-byte block hash or root, 64 hex digits. */
export function parseHash(text: unknown, what = "hash"): Uint8Array {
  return hexToBytes(text, 32, what);
}

/** A u64 written as 16 hex digits, most significant first (work, difficulty, work value). */
export function parseU64(text: unknown, what: string): bigint {
  return BigInt(`0x${bytesToHex(hexToBytes(text, 8, what))}`);
}

export function formatU64(value: bigint): string {
  if (value < 0n || value > U64_MAX) throw new RangeError(`not a u64: ${value}`);
  return value.toString(16).padStart(16, "0");
}

/** Canonical upper-case form of a hash, as the hub emits it. */
export function formatHash(hash: Uint8Array): string {
  return bytesToHex(hash).toUpperCase();
}

export const U64_MAX = (1n << 64n) - 1n;
