import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { addressToPublicKey, canonicalAddress, publicKeyToAddress } from "../../src/nano/account.js";
import { NanoInputError } from "../../src/nano/errors.js";

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe("canonicalAddress", () => {
  it("spells both prefixes of one key as its nano_ address", () => {
    fc.assert(
      fc.property(key, (k) => {
        const nano = publicKeyToAddress(k, "nano");
        expect(canonicalAddress(nano)).toBe(nano);
        expect(canonicalAddress(publicKeyToAddress(k, "xrb"))).toBe(nano);
        expect([...addressToPublicKey(canonicalAddress(publicKeyToAddress(k, "xrb")))]).toEqual([...k]);
      }),
    );
  });

  it("refuses an invalid address with the reason", () => {
    expect(() => canonicalAddress("xrb_1111")).toThrow(NanoInputError);
    expect(() => canonicalAddress("nano_1111")).toThrow(/60 characters/);
  });
});
