import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, publicKeyToAddress, U64_MAX } from "../../src/nano/index.js";
import {
  formatCancelPayload,
  formatResultPayload,
  formatWorkPayload,
  MAX_PAYLOAD_BYTES,
  parseCancelPayload,
  parseResultPayload,
  parseWorkPayload,
  topics,
  workTypeOf,
} from "../../src/protocol/topics.js";

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => bytesToHex(b).toUpperCase());
const u64 = fc.bigInt({ min: 0n, max: U64_MAX });
const address = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((key) => publicKeyToAddress(key));
/** The same hex with each letter's case chosen at random. */
const anyCase = (hex: string) =>
  fc
    .array(fc.boolean(), { minLength: hex.length, maxLength: hex.length })
    .map((upper) => [...hex].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));

describe("work payload HASH,DIFFICULTY", () => {
  it("round-trips, hash upper-case and difficulty lower-case on the wire", () => {
    fc.assert(
      fc.property(hash, u64, (h, difficulty) => {
        const text = formatWorkPayload({ hash: h.toLowerCase(), difficulty });
        expect(text).toMatch(/^[0-9A-F]{64},[0-9a-f]{16}$/);
        expect(parseWorkPayload(Buffer.from(text))).toEqual({ ok: true, value: { hash: h, difficulty } });
      }),
    );
  });

  it("accepts hex in either case", () => {
    fc.assert(
      fc.property(
        hash.chain((h) => fc.tuple(fc.constant(h), anyCase(h))),
        u64.chain((d) => fc.tuple(fc.constant(d), anyCase(d.toString(16).padStart(16, "0")))),
        ([h, hText], [difficulty, dText]) => {
          expect(parseWorkPayload(`${hText},${dText}`)).toEqual({ ok: true, value: { hash: h, difficulty } });
        },
      ),
    );
  });
});

describe("result payload HASH,WORK,PAYOUT_ADDRESS", () => {
  it("round-trips with a valid address", () => {
    fc.assert(
      fc.property(hash, u64, address, (h, work, addr) => {
        const text = formatResultPayload({ hash: h, work, address: addr });
        expect(parseResultPayload(text)).toEqual({
          ok: true,
          value: { hash: h, work, address: addr, addressError: null },
        });
      }),
      { numRuns: 200 },
    );
  });

  it("parses a well-formed result with an invalid Nano address, saying what is wrong with it", () => {
    const parsed = parseResultPayload(`${"A".repeat(64)},${"0".repeat(16)},nano_notanaddress`);
    expect(parsed.ok && parsed.value.addressError).toMatch(/60 characters/);
  });

  it("rejects addresses that could not be a topic level", () => {
    for (const bad of ["", "nano_x/y", "nano_#", "nano_+", "nano x", "nano_\u0000", "a".repeat(101)]) {
      const parsed = parseResultPayload(`${"A".repeat(64)},${"0".repeat(16)},${bad}`);
      expect(parsed).toEqual({ ok: false, error: expect.stringMatching(/payout address/) });
    }
  });
});

describe("cancel payload HASH", () => {
  it("round-trips to the upper-case hash", () => {
    fc.assert(
      fc.property(hash, (h) => {
        expect(parseCancelPayload(formatCancelPayload(h.toLowerCase()))).toEqual({ ok: true, value: h });
      }),
    );
  });
});

describe("malformed payloads", () => {
  const H = "a".repeat(64);
  const W = "f".repeat(16);
  const cases: [string, (p: string) => { ok: boolean }, string, RegExp][] = [
    ["work: one field", parseWorkPayload, H, /expected 2 .*got 1/],
    ["work: three fields", parseWorkPayload, `${H},${W},x`, /expected 2/],
    ["work: short hash", parseWorkPayload, `${H.slice(1)},${W}`, /hash must be exactly 64 hex/],
    [
      "work: non-hex difficulty",
      parseWorkPayload,
      `${H},${W.slice(1)}g`,
      /difficulty must be exactly 16 hex/,
    ],
    ["work: spaces", parseWorkPayload, `${H}, ${W}`, /difficulty/],
    ["work: empty", parseWorkPayload, "", /expected 2/],
    ["result: two fields", parseResultPayload, `${H},${W}`, /expected 3/],
    ["result: long work", parseResultPayload, `${H},${W}0,nano_x`, /work must be exactly 16 hex/],
    ["result: oversized", parseResultPayload, "x".repeat(MAX_PAYLOAD_BYTES + 1), /longer than/],
    ["cancel: trailing newline", parseCancelPayload, `${H}\n`, /hash must be exactly 64/],
    ["cancel: 0x prefix", parseCancelPayload, `0x${H.slice(2)}`, /hash/],
  ];
  it.each(cases)("%s is rejected with a reason", (_name, parse, payload, reason) => {
    expect(parse(payload)).toEqual({ ok: false, error: expect.stringMatching(reason) });
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const payload = Buffer.from(bytes);
        for (const parse of [parseWorkPayload, parseResultPayload, parseCancelPayload]) {
          const parsed = parse(payload);
          if (!parsed.ok) expect(parsed.error).toEqual(expect.any(String));
        }
      }),
    );
  });
});

describe("topics", () => {
  it("names the topics of docs/wire-protocol.md and reads the work type back", () => {
    expect([topics.work("ondemand"), topics.result("precache"), topics.cancel("ondemand")]).toEqual([
      "work/ondemand",
      "result/precache",
      "cancel/ondemand",
    ]);
    expect(topics.client("nano_abc")).toBe("client/nano_abc");
    expect(workTypeOf("result/precache")).toBe("precache");
    expect(workTypeOf("work/ondemand")).toBe("ondemand");
    for (const other of ["result/other", "client/ondemand", "result/ondemand/x", "heartbeat"]) {
      expect(workTypeOf(other)).toBeNull();
    }
  });
});
