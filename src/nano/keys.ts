import { eddsa } from "@noble/curves/abstract/edwards.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { NanoInputError } from "./errors.js";

/** Nano signs with ed25519 but hashes with blake2b-512 where RFC 8032 uses sha-512. */
const nanoEd25519 = eddsa(ed25519.Point, (message: Uint8Array) => blake2b(message, { dkLen: 64 }), {
  adjustScalarBytes: (bytes: Uint8Array) => {
    const out = Uint8Array.from(bytes);
    out[0] = (out[0] ?? 0) & 248;
    out[31] = ((out[31] ?? 0) & 127) | 64;
    return out;
  },
});

/** Secret key number `index` of a wallet seed: blake2b-256(seed || index as u32 big-endian). */
export function secretKeyFromSeed(seed: Uint8Array, index: number): Uint8Array {
  if (seed.length !== 32) throw new NanoInputError("a seed is 32 bytes (64 hex digits)");
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new NanoInputError("account index must be an integer from 0 to 4294967295");
  }
  const input = new Uint8Array(36);
  input.set(seed);
  new DataView(input.buffer).setUint32(32, index, false);
  return blake2b(input, { dkLen: 32 });
}

export function publicKeyFromSecretKey(secretKey: Uint8Array): Uint8Array {
  if (secretKey.length !== 32) throw new NanoInputError("a secret key is 32 bytes (64 hex digits)");
  return nanoEd25519.getPublicKey(secretKey);
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return nanoEd25519.sign(message, secretKey);
}

export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nanoEd25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
