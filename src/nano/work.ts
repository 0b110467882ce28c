import { blake2b } from "@noble/hashes/blake2.js";

/**
 * The value of `work` for `root`: blake2b with an 8-byte digest over nonce (little-endian) || root,
 * read as a little-endian u64. Work is valid for threshold t iff value >= t.
 */
export function workValue(root: Uint8Array, work: bigint): bigint {
  const input = new Uint8Array(40);
  const view = new DataView(input.buffer);
  view.setBigUint64(0, work, true);
  input.set(root, 8);
  const digest = blake2b(input, { dkLen: 8 });
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, true);
}
