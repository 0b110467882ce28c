import { blake2b } from "@noble/hashes/blake2.js";
import { NanoInputError, quoted } from "./errors.js";
import { bytesToHex, hexToBytes } from "./hex.js";

/** Nano's base32 alphabet: no 0, 2, l, v, so that hand-copied addresses fail loudly. */
const ALPHABET = "13456789abcdefghijkmnopqrstuwxyz";
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));
const PREFIXES = ["nano_", "xrb_"] as const;
export type AddressPrefix = "nano" | "xrb";

/** Base32 of `bytes` after `padBits` leading zero bits (the key is 256 bits: 4 pad bits make 260 = 52 x 5). */
function encodeBase32(bytes: Uint8Array, padBits: number): string {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  const chars = (bytes.length * 8 + padBits) / 5;
  let out = "";
  for (let i = chars - 1; i >= 0; i--) out += ALPHABET[Number((value >> BigInt(i * 5)) & 31n)];
  return out;
}

function decodeBase32(text: string, bytes: number): bigint {
  let value = 0n;
  for (const c of text) {
    const v = DECODE.get(c);
    if (v === undefined)
      throw new NanoInputError(`address contains ${quoted(c)}, which is not in Nano's alphabet`);
    value = (value << 5n) | BigInt(v);
  }
  if (value >> BigInt(bytes * 8) !== 0n) throw new NanoInputError("address has non-zero padding bits");
  return value;
}

function bigToBytes(value: bigint, bytes: number): Uint8Array {
  return hexToBytes(value.toString(16).padStart(bytes * 2, "0"), bytes, "value");
}

/** The 5-byte blake2b checksum of a public key, byte-reversed as the address encodes it. */
function checksum(publicKey: Uint8Array): Uint8Array {
  return blake2b(publicKey, { dkLen: 5 }).reverse();
}

export function publicKeyToAddress(publicKey: Uint8Array, prefix: AddressPrefix = "nano"): string {
  if (publicKey.length !== 32) throw new NanoInputError("a public key is 32 bytes (64 hex digits)");
  return `${prefix}_${encodeBase32(publicKey, 4)}${encodeBase32(checksum(publicKey), 0)}`;
}

/** Decodes and verifies an address; throws NanoInputError saying exactly what is wrong. */
export function addressToPublicKey(address: unknown): Uint8Array {
  if (typeof address !== "string") throw new NanoInputError("address must be a string");
  const prefix = PREFIXES.find((p) => address.startsWith(p));
  if (!prefix) throw new NanoInputError(`address must start with "nano_" or "xrb_"`);
  const body = address.slice(prefix.length);
  if (body.length !== 60) {
    throw new NanoInputError(`address must have 60 characters after "${prefix}", got ${body.length}`);
  }
  if (body[0] !== "1" && body[0] !== "3") {
    throw new NanoInputError(`address key part must start with "1" or "3", got ${quoted(body[0] ?? "")}`);
  }
  const publicKey = bigToBytes(decodeBase32(body.slice(0, 52), 32), 32);
  const given = bigToBytes(decodeBase32(body.slice(52), 5), 5);
  if (bytesToHex(given) !== bytesToHex(checksum(publicKey))) {
    throw new NanoInputError("address checksum does not match (a character is mistyped)");
  }
  return publicKey;
}

/** Why `address` is invalid, or null when it is valid. */
export function addressError(address: unknown): string | null {
  try {
    addressToPublicKey(address);
    return null;
  } catch (err) {
    if (err instanceof NanoInputError) return err.message;
    throw err;
  }
}

/**
 * The one spelling of a valid address: `nano_`. A legacy `xrb_` address names the same key with the
 * same characters after its prefix (the checksum covers the key, not the prefix), so anything keyed
 * on addresses keys on this. Throws NanoInputError for an invalid address.
 */
export function canonicalAddress(address: unknown): string {
  addressToPublicKey(address);
  const text = address as string;
  return text.startsWith("xrb_") ? `nano_${text.slice(4)}` : text;
}
