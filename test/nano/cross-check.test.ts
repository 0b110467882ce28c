import fc from "fast-check";
import * as nanocurrency from "nanocurrency";
import { describe, expect, it } from "vitest";
import {
  addressToPublicKey,
  bytesToHex,
  formatU64,
  hashStateBlock,
  publicKeyFromSecretKey,
  publicKeyToAddress,
  secretKeyFromSeed,
  signStateBlock,
  U64_MAX,
  verifyStateBlock,
  workValue,
} from "../../src/nano/index.js";

/** Agreement with an independent implementation (the nanocurrency package) on random inputs. */
const RUNS = 10_000;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const hex = (b: Uint8Array) => bytesToHex(b).toUpperCase();
const raw = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }).map(String);

describe("cross-check against nanocurrency", () => {
  it("work values: valid exactly at our value, invalid one above it", () => {
    fc.assert(
      fc.property(bytes32, fc.bigInt({ min: 0n, max: U64_MAX }), (root, work) => {
        const value = workValue(root, work);
        const params = { blockHash: hex(root), work: formatU64(work) };
        expect(nanocurrency.validateWork({ ...params, threshold: formatU64(value) })).toBe(true);
        if (value < U64_MAX)
          expect(nanocurrency.validateWork({ ...params, threshold: formatU64(value + 1n) })).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it("addresses", () => {
    fc.assert(
      fc.property(bytes32, (key) => {
        const address = publicKeyToAddress(key);
        expect(address).toBe(nanocurrency.deriveAddress(hex(key), { useNanoPrefix: true }));
        expect(nanocurrency.checkAddress(address)).toBe(true);
        expect(hex(addressToPublicKey(address))).toBe(nanocurrency.derivePublicKey(address));
      }),
      { numRuns: RUNS },
    );
  });

  it("state block hashes", () => {
    const block = fc.record({
      account: bytes32.map((k) => publicKeyToAddress(k)),
      previous: bytes32.map(hex),
      representative: bytes32.map((k) => publicKeyToAddress(k)),
      balance: raw,
      link: bytes32.map(hex),
    });
    fc.assert(
      fc.property(block, (b) => {
        expect(hex(hashStateBlock(b))).toBe(nanocurrency.hashBlock(b));
      }),
      { numRuns: RUNS },
    );
  });

  it("keys from seeds and signatures", () => {
    fc.assert(
      fc.property(bytes32, fc.nat(), bytes32, raw, (seed, index, link, balance) => {
        const secret = secretKeyFromSeed(seed, index);
        expect(hex(secret)).toBe(nanocurrency.deriveSecretKey(hex(seed), index));
        const publicKey = publicKeyFromSecretKey(secret);
        expect(hex(publicKey)).toBe(nanocurrency.derivePublicKey(hex(secret)));
        const account = publicKeyToAddress(publicKey);
        const unsigned = { account, previous: hex(link), representative: account, balance, link: hex(link) };
        const signed = signStateBlock(unsigned, secret);
        const theirs = nanocurrency.signBlock({
          hash: hex(hashStateBlock(unsigned)),
          secretKey: hex(secret),
        });
        expect(signed.signature).toBe(theirs);
        expect(verifyStateBlock(signed)).toBe(true);
        expect(verifyStateBlock({ ...signed, balance: `${BigInt(balance) ^ 1n}` })).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
