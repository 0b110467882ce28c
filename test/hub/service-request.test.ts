import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  errors,
  MAX_REQUEST_BYTES,
  parseServiceRequest,
  serviceRequestSchema,
} from "../../src/protocol/service.js";

const base = { user: "svc", api_key: "key", hash: "ab".repeat(32) };
const error = (body: unknown) => {
  const parsed = parseServiceRequest(typeof body === "string" ? body : JSON.stringify(body));
  return parsed.ok ? null : parsed.error.error;
};

describe("service request parsing", () => {
  it("accepts a minimal request with defaults and ignores unknown fields", () => {
    const parsed = parseServiceRequest(JSON.stringify({ ...base, action: "work_generate" }));
    expect(parsed).toEqual({ ok: true, request: { ...base, timeout: 5 } });
  });

  it("accepts numbers sent as strings", () => {
    const parsed = parseServiceRequest(JSON.stringify({ ...base, timeout: "7", multiplier: "0.5" }));
    expect(parsed.ok && parsed.request.timeout).toBe(7);
    expect(parsed.ok && parsed.request.multiplier).toBe(0.5);
  });

  it("gives each failure its own message", () => {
    const cases: Array<[unknown, RegExp]> = [
      ["{nope", /^Bad request \(not json\)$/],
      ["[1]", /expected a JSON object/],
      ["x".repeat(MAX_REQUEST_BYTES + 1), /too large/],
      [{ api_key: "k", hash: base.hash }, /^user is missing/],
      [{ ...base, user: 5 }, /^user is missing or not a string/],
      [{ ...base, api_key: undefined }, /^api_key is missing/],
      [{ ...base, hash: "zz" }, /^hash must be exactly 64 hex/],
      [{ ...base, hash: 12 }, /^hash is missing or not a string/],
      [{ ...base, account: "nano_1" }, /^account is not a valid Nano address/],
      [{ ...base, account: 7 }, /^account must be a string/],
      [{ ...base, timeout: 0 }, /at least 1 second/],
      [{ ...base, timeout: 31 }, /at most 30 seconds/],
      [{ ...base, timeout: 1.5 }, /whole number/],
      [{ ...base, timeout: true }, /^timeout must be a whole number/],
      [{ ...base, difficulty: "xyz" }, /^difficulty must be exactly 16 hex/],
      [{ ...base, difficulty: 5 }, /^difficulty must be a string/],
      [{ ...base, multiplier: -1 }, /^difficulty out of range: multiplier must be greater than 0/],
      [{ ...base, multiplier: 1e9 }, /^difficulty out of range: multiplier must be at most/],
      [{ ...base, multiplier: "lots" }, /^multiplier must be a positive number/],
    ];
    for (const [body, expected] of cases) expect(error(body), JSON.stringify(body)).toMatch(expected);
    expect(error("{nope")).toBe(errors.notJson);
  });

  it("echoes the id on errors", () => {
    const parsed = parseServiceRequest(JSON.stringify({ ...base, hash: "no", id: { n: 1 } }));
    expect(parsed.ok ? null : parsed.error.id).toEqual({ n: 1 });
  });

  it("gives exactly the schema's result for any request (the hand-checked fast path included)", () => {
    // Values at every rule's edge, mostly in requests the fast path takes (credentials and hash
    // present, no other schema field), else in ones it must hand on to the schema.
    const other = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.integer({ min: -2, max: 40 }),
      fc.constantFrom(null, true, 1.5, [], {}, " 5", "7", "0.5", "ab".repeat(8)),
    );
    const mostly = <T>(likely: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 6, arbitrary: likely }, { weight: 1, arbitrary: other });
    const name = mostly(fc.constantFrom("", "a", "svc", "x".repeat(200), "x".repeat(201)));
    const hash = mostly(
      fc.constantFrom("ab".repeat(32), "AB".repeat(32), `${"ab".repeat(31)}zz`, "ab".repeat(33)),
    );
    const rarely = fc.oneof(
      { weight: 6, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: other },
    );
    const request = fc
      .record({
        user: name,
        api_key: name,
        hash,
        id: fc.option(other, { nil: undefined }),
        action: fc.option(other, { nil: undefined }),
        timeout: rarely,
        account: rarely,
        difficulty: rarely,
        multiplier: rarely,
      })
      .map((json) => Object.fromEntries(Object.entries(json).filter(([, v]) => v !== undefined)));
    fc.assert(
      fc.property(request, (json) => {
        const body = JSON.stringify(json);
        const parsed = parseServiceRequest(body);
        const schema = serviceRequestSchema.safeParse(JSON.parse(body));
        expect(parsed.ok).toBe(schema.success);
        if (parsed.ok) expect(parsed.request).toStrictEqual(schema.data);
      }),
      { numRuns: 2000 },
    );
  });
});
