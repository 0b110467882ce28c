import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addressError,
  addressToPublicKey,
  bytesToHex,
  expectedHashes,
  formatU64,
  fromMultiplier,
  LEGACY_BASE,
  NanoInputError,
  parseHash,
  parseU64,
  publicKeyToAddress,
  RECEIVE_THRESHOLD,
  SEND_THRESHOLD,
  toMultiplier,
  U64_MAX,
} from "../../src/nano/index.js";

const TWO_64 = 1n << 64n;
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const base = fc.constantFrom(SEND_THRESHOLD, RECEIVE_THRESHOLD, LEGACY_BASE);

describe("hex", () => {
  it("round-trips u64 in either case", () => {
    fc.assert(
      fc.property(u64, (v) => {
        const text = formatU64(v);
        expect(text).toMatch(/^[0-9a-f]{16}$/);
        expect(parseU64(text.toUpperCase(), "x")).toBe(v);
      }),
    );
  });

  it("refuses wrong lengths and non-hex with the field name", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (text) => {
        fc.pre(!/^[0-9a-fA-F]{64}$/.test(text));
        expect(() => parseHash(text, "--hash")).toThrow(/--hash must be exactly 64 hex digits/);
      }),
    );
    expect(() => parseU64(42, "work")).toThrow(NanoInputError);
  });
});

describe("accounts", () => {
  it("round-trips public keys through both prefixes", () => {
    fc.assert(
      fc.property(key, fc.constantFrom("nano" as const, "xrb" as const), (k, prefix) => {
        const address = publicKeyToAddress(k, prefix);
        expect(address).toMatch(/^(nano|xrb)_[13][13456789abcdefghijkmnopqrstuwxyz]{59}$/);
        expect(bytesToHex(addressToPublicKey(address))).toBe(bytesToHex(k));
      }),
    );
  });

  it("detects every single-character change", () => {
    const alphabet = "13456789abcdefghijkmnopqrstuwxyz";
    fc.assert(
      fc.property(key, fc.nat(59), fc.nat(31), (k, at, replacement) => {
        const address = publicKeyToAddress(k);
        const i = 5 + at;
        const c = alphabet[replacement] as string;
        fc.pre(address[i] !== c);
        expect(addressError(address.slice(0, i) + c + address.slice(i + 1))).not.toBeNull();
      }),
    );
  });
});

describe("difficulty and multipliers", () => {
  it("fromMultiplier is exact and never below the multiplier asked (multipliers k / 2^20)", () => {
    fc.assert(
      fc.property(base, fc.integer({ min: 1, max: 64 << 20 }), (b, k) => {
        const d = fromMultiplier(k / 2 ** 20, b);
        const distance = TWO_64 - d;
        // (2^64 - b) / distance >= k / 2^20, and one step easier would be below it.
        expect((TWO_64 - b) << 20n >= BigInt(k) * distance).toBe(true);
        expect((TWO_64 - b) << 20n < BigInt(k) * (distance + 1n)).toBe(true);
      }),
    );
  });

  it("fromMultiplier never gives less than asked for any double", () => {
    fc.assert(
      fc.property(base, fc.double({ min: 1 / 128, max: 1024, noNaN: true }), (b, m) => {
        expect(toMultiplier(fromMultiplier(m, b), b)).toBeGreaterThanOrEqual(m * (1 - 1e-15));
      }),
    );
  });

  it("is monotonic in both directions", () => {
    fc.assert(
      fc.property(base, u64, u64, (b, x, y) => {
        const [lo, hi] = x < y ? [x, y] : [y, x];
        expect(toMultiplier(lo, b)).toBeLessThanOrEqual(toMultiplier(hi, b));
      }),
    );
    fc.assert(
      fc.property(
        base,
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
        (b, x, y) => {
          const [lo, hi] = x < y ? [x, y] : [y, x];
          expect(fromMultiplier(lo, b) <= fromMultiplier(hi, b)).toBe(true);
        },
      ),
    );
  });

  it("refuses multipliers that are not positive finite numbers", () => {
    for (const m of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => fromMultiplier(m, SEND_THRESHOLD)).toThrow(NanoInputError);
    }
  });

  it("knows the expected hashes of the live thresholds", () => {
    expect(expectedHashes(SEND_THRESHOLD)).toBe(2 ** 29);
    expect(expectedHashes(RECEIVE_THRESHOLD)).toBe(2 ** 23);
    expect(toMultiplier(RECEIVE_THRESHOLD, SEND_THRESHOLD)).toBe(1 / 64);
  });
});
