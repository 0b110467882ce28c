import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  addressError,
  addressToPublicKey,
  bytesToHex,
  fromMultiplier,
  hashStateBlock,
  parseHash,
  parseU64,
  publicKeyFromSecretKey,
  publicKeyToAddress,
  type StateBlock,
  signStateBlock,
  toMultiplier,
  verifyStateBlock,
  workValue,
} from "../../src/nano/index.js";

/** Vectors computed by two independent implementations, shared by the whole project. */
interface Vectors {
  work: { hash: string; work: string; value: string }[];
  addresses: { public_key: string; address: string; xrb_address?: string }[];
  invalid_addresses: { address: string; valid: false }[];
  multipliers: { difficulty: string; base: string; multiplier: number }[];
  blocks: { secret_key: string; block: StateBlock & { link_as_account: string }; hash: string }[];
}

/**
 * The project's copy of the shared vectors, so a clone alone can run its tests. Where the team's
 * shared folder sits beside the checkout (development machines, CI), the copy must equal it.
 */
const COPY = new URL("../fixtures/vectors/nano.json", import.meta.url);
const SHARED = new URL("../../../shared/vectors/nano.json", import.meta.url);
const vectors: Vectors = JSON.parse(readFileSync(COPY, "utf8"));
const hex = (bytes: Uint8Array) => bytesToHex(bytes).toUpperCase();

describe("shared test vectors", () => {
  it("are the shared set, where it is present", () => {
    if (existsSync(SHARED)) expect(JSON.parse(readFileSync(SHARED, "utf8"))).toEqual(vectors);
  });

  it.each(vectors.work)("work value of $work on $hash is $value", (v) => {
    expect(workValue(parseHash(v.hash), parseU64(v.work, "work"))).toBe(parseU64(v.value, "value"));
  });

  it.each(vectors.addresses)("address of $public_key", (v) => {
    const key = parseHash(v.public_key, "key");
    expect(publicKeyToAddress(key)).toBe(v.address);
    expect(hex(addressToPublicKey(v.address))).toBe(v.public_key);
    const xrb = v.xrb_address ?? v.address.replace(/^nano_/, "xrb_");
    expect(publicKeyToAddress(key, "xrb")).toBe(xrb);
    expect(hex(addressToPublicKey(xrb))).toBe(v.public_key);
  });

  it.each(vectors.invalid_addresses)("refuses $address", (v) => {
    expect(addressError(v.address)).toEqual(expect.any(String));
  });

  it.each(vectors.multipliers)("multiplier of $difficulty over $base is $multiplier", (v) => {
    const difficulty = parseU64(v.difficulty, "difficulty");
    const base = parseU64(v.base, "base");
    expect(toMultiplier(difficulty, base)).toBeCloseTo(v.multiplier, 12);
    // Back from the multiplier: never easier than asked, and exact where the multiplier is a power of two.
    const back = fromMultiplier(v.multiplier, base);
    expect(toMultiplier(back, base)).toBeGreaterThanOrEqual(v.multiplier);
    if (Number.isInteger(Math.log2(v.multiplier))) expect(back).toBe(difficulty);
  });

  it.each(vectors.blocks)("state block $hash: hash, signature, key", (v) => {
    const secret = parseHash(v.secret_key, "secret key");
    expect(hex(hashStateBlock(v.block))).toBe(v.hash);
    expect(publicKeyToAddress(publicKeyFromSecretKey(secret), "xrb")).toBe(
      v.block.account.replace(/^nano_/, "xrb_"),
    );
    expect(signStateBlock(v.block, secret).signature).toBe(v.block.signature);
    expect(verifyStateBlock(v.block)).toBe(true);
    expect(hex(addressToPublicKey(v.block.link_as_account))).toBe(v.block.link);
  });
});
