import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  errors,
  MAX_ID_CHARS,
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

  it("takes timeout as the original's int(): numbers and numeric strings, rounded down", () => {
    const timeout = (value: unknown) => {
      const parsed = parseServiceRequest(JSON.stringify({ ...base, timeout: value }));
      return parsed.ok ? parsed.request.timeout : parsed.error.error;
    };
    expect([1.5, "5", "7.9", 30.99, 1].map(timeout)).toEqual([1, 5, 7, 30, 1]);
    for (const bad of [0.5, 0, 31, -1, "x", true, null, []]) {
      expect(timeout(bad), JSON.stringify(bad)).toMatch(/^Timeout must be an integer between 1 and 30: /);
    }
  });

  it("gives each failure its own message, beginning with the original DPoW's text", () => {
    const incomplete = "Incorrect submission\\. Required information: user, api_key, hash: ";
    const cases: Array<[unknown, RegExp]> = [
      ["{nope", /^Bad request \(not json\)$/],
      ["[1]", /^Bad request \(not json\): expected a JSON object/],
      ["x".repeat(MAX_REQUEST_BYTES + 1), /too large/],
      [{ api_key: "k", hash: base.hash }, new RegExp(`^${incomplete}user is missing`)],
      [{ ...base, user: 5 }, new RegExp(`^${incomplete}user must be a string`)],
      [{ ...base, user: "" }, new RegExp(`^${incomplete}user is empty`)],
      [{ ...base, api_key: undefined }, new RegExp(`^${incomplete}api_key is missing`)],
      [{ user: "u", api_key: "k" }, new RegExp(`^${incomplete}hash is missing`)],
      [{ ...base, user: "x".repeat(201) }, /^Invalid credentials: user is longer than 200/],
      [{ ...base, hash: "zz" }, /^Invalid hash: must be exactly 64 hex/],
      [{ ...base, hash: 12 }, /^Invalid hash: hash must be a string/],
      [{ ...base, account: "nano_1" }, /^Invalid account: not a valid Nano address/],
      [{ ...base, account: 7 }, /^Invalid account: must be a string/],
      [{ ...base, timeout: 0 }, /^Timeout must be an integer between 1 and 30: at least 1 second/],
      [{ ...base, timeout: 31 }, /^Timeout must be an integer between 1 and 30: at most 30 seconds/],
      [{ ...base, timeout: true }, /^Timeout must be an integer between 1 and 30: give a whole number/],
      [{ ...base, difficulty: "xyz" }, /^Invalid difficulty: must be exactly 16 hex/],
      [{ ...base, difficulty: 5 }, /^Invalid difficulty: must be a string/],
      [{ ...base, multiplier: -1 }, /^Multiplier must be a float: must be greater than 0/],
      [{ ...base, multiplier: "lots" }, /^Multiplier must be a float: give a positive number/],
      [{ ...base, id: "x".repeat(MAX_ID_CHARS + 1) }, /^Invalid id: at most 256 characters/],
    ];
    for (const [body, expected] of cases) expect(error(body), JSON.stringify(body)).toMatch(expected);
    expect(error("{nope")).toBe(errors.notJson);
  });

  it("bounds the id it echoes, and hands a refused request's credentials on to be checked first", () => {
    const long = parseServiceRequest(JSON.stringify({ ...base, hash: "no", id: "x".repeat(3000) }));
    expect(long).toEqual({
      ok: false,
      code: "DPOW_API_BAD_REQUEST",
      error: { error: expect.stringMatching(/^Invalid hash/) },
      credentials: { user: "svc", api_key: "key" },
    });
    const ok = parseServiceRequest(JSON.stringify({ ...base, id: "x".repeat(MAX_ID_CHARS) }));
    expect(ok.ok).toBe(true);
    const small = parseServiceRequest(JSON.stringify({ ...base, id: { n: [1, 2, 3] } }));
    expect(small.ok && small.request.id).toEqual({ n: [1, 2, 3] });
    const noKey = parseServiceRequest(JSON.stringify({ user: "svc", hash: base.hash }));
    expect(noKey.ok === false && noKey.credentials).toBeUndefined();
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
      fc.constantFrom(null, true, 1.5, 30.5, 0.5, [], {}, " 5", "7", "0.5", "ab".repeat(8), "x".repeat(257)),
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
