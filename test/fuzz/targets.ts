/**
 * Fuzz targets: every parser of input the hub or a worker takes from outside, each with a generator
 * built from its grammar (./grammar.ts) and an oracle. The oracle is a reference parser written
 * from the wire contract (docs/wire-protocol.md, service-api.md, node-interfaces.md), independent of the code under test where it can be (Nano
 * addresses are checked with the nanocurrency package), and it asserts three things:
 * - the parser throws nothing, or only its own typed error (RpcRequestError for the work server);
 * - its verdict (taken, ignored, or refused, and on which field) and the value it returns equal the
 *   reference's; error *texts* are not compared, only that they are one bounded line;
 * - what it returns is bounded by its input, and an input over the size limit is refused without
 *   being copied (see `huge`).
 * test/fuzz/fuzz.test.ts runs each target in `npm test`; `npm run fuzz` runs them for longer.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import * as nanocurrency from "nanocurrency";
import { expect } from "vitest";
import { DEV_BASE, DifficultyPolicy } from "../../src/hub/difficulty-policy.js";
import {
  isAuthentic,
  MAX_CONFIRMATION_BYTES,
  parseCallbackBody,
  parseFeedMessage,
} from "../../src/hub/precache/confirmation.js";
import { SEND_THRESHOLD, toMultiplier } from "../../src/nano/difficulty.js";
import { formatU64 } from "../../src/nano/hex.js";
import { parseRpc, RpcRequestError } from "../../src/pow/work-server/rpc.js";
import { parseFeedback } from "../../src/protocol/feedback.js";
import {
  MAX_ID_CHARS,
  MAX_REQUEST_BYTES,
  parseServiceRequest,
  serviceRequestSchema,
} from "../../src/protocol/service.js";
import {
  MAX_PAYLOAD_BYTES,
  parseCancelPayload,
  parseResultPayload,
  parseWorkPayload,
} from "../../src/protocol/topics.js";
import { csv, field, hex, mutated, nearHex, object, wrongJson } from "./grammar.js";

export interface FuzzTarget {
  name: string;
  /** The parser under test. */
  parser: string;
  /** Raw input as it arrives: a request body, a WebSocket message, an MQTT payload (as UTF-8 text). */
  input: fc.Arbitrary<string>;
  /**
   * Throws (an assertion error) when the parser misbehaves on `input`; else returns its verdict,
   * one of `verdicts`.
   */
  check(input: string): string;
  /** Every verdict the generator must reach in a fair share of its inputs (see fuzz.test.ts). */
  verdicts: string[];
  /**
   * Builds an input far over the parser's size limit (64 MiB) and returns the call that parses it:
   * that call must refuse it without copying it.
   */
  huge?: () => () => unknown;
}

// ---------------------------------------------------------------------------------------------
// Shared grammar pieces and reference checks

interface Vectors {
  addresses: Array<{ address: string; xrb_address: string }>;
  invalid_addresses: Array<{ address: string }>;
  blocks: Array<{ hash: string; block: Record<string, string | null> }>;
}
const vectors = JSON.parse(
  readFileSync(new URL("../fixtures/vectors/nano.json", import.meta.url), "utf8"),
) as Vectors;

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const ZERO64 = "0".repeat(64);

/** Nano addresses: valid ones in both prefixes, the vectors' invalid ones, and one-character typos. */
const address: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...vectors.addresses.flatMap((a) => [a.address, a.xrb_address])) },
  { weight: 1, arbitrary: fc.constantFrom(...vectors.invalid_addresses.map((a) => a.address)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...vectors.addresses.map((a) => a.address)),
        fc.nat(65),
        fc.constantFrom("1", "3", "0", "2", "l", "v", "_", "A", "x"),
      )
      .map(([a, i, c]) => a.slice(0, i) + c + a.slice(i + 1)),
  },
  { weight: 1, arbitrary: fc.constantFrom(...vectors.addresses.map((a) => a.address.toUpperCase())) },
);

/** True when `text` is a valid Nano address, by the nanocurrency package (an independent implementation). */
const validAddress = (text: unknown): text is string =>
  typeof text === "string" && /^(nano|xrb)_/.test(text) && nanocurrency.checkAddress(text);

/** The canonical `nano_` form of a valid address. */
const canonical = (text: string) =>
  nanocurrency.deriveAddress(nanocurrency.derivePublicKey(text), { useNanoPrefix: true });

/** Length in characters (Unicode code points), as the schemas count it: a UTF-16 pair is one. */
const chars = (text: string) => [...text].length;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const has = (o: Record<string, unknown>, key: string) => Object.hasOwn(o, key);

const jsonOrUndefined = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** An error text shown to a client or logged: one line, short, whatever the input was. */
function expectBoundedLine(text: unknown): void {
  expect(typeof text).toBe("string");
  expect((text as string).length).toBeGreaterThan(0);
  expect((text as string).length).toBeLessThanOrEqual(400);
  expect(text as string).not.toMatch(/[\r\n]/);
}

/** Whatever a parser returns is bounded by what it was given (plus a constant for messages). */
function expectBoundedOutput(output: unknown, input: string): void {
  const size = JSON.stringify(output, (_k, v) => (typeof v === "bigint" ? v.toString() : v)).length;
  expect(size).toBeLessThanOrEqual(2 * input.length + 1024);
}

/** A string of digits with an optional fraction, blanks around it: how services send numbers as strings. */
const DECIMAL_STRING = /^\s*\d+(\.\d+)?\s*$/;

const numberOf = (value: unknown): number | undefined =>
  typeof value === "number"
    ? value
    : typeof value === "string" && DECIMAL_STRING.test(value)
      ? Number(value)
      : undefined;

// ---------------------------------------------------------------------------------------------
// Service API (docs/service-api.md): POST /service/ and /service_ws/ messages

type ServiceVerdict =
  | { ok: true; request: Record<string, unknown> }
  | { ok: false; fields: string[] /** "body" when the whole body is refused */ };

/** An id short enough to echo: a string of at most 256 characters, a scalar, or at most 256 characters of JSON. */
const echoable = (id: unknown) =>
  typeof id === "string"
    ? id.length <= MAX_ID_CHARS
    : typeof id !== "object" || id === null || JSON.stringify(id).length <= MAX_ID_CHARS;

/** Credentials worth checking before saying what else is wrong: two strings of 1 to 200 characters. */
const plausible = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= 200;

/** The service request grammar, written out from docs/service-api.md and the README's field list. */
function referenceServiceRequest(body: string): ServiceVerdict {
  if (Buffer.byteLength(body) > MAX_REQUEST_BYTES) return { ok: false, fields: ["body"] };
  const json = jsonOrUndefined(body);
  if (!isPlainObject(json)) return { ok: false, fields: ["body"] };
  const bad: string[] = [];
  const request: Record<string, unknown> = {};
  for (const key of ["user", "api_key"]) {
    const v = json[key];
    if (typeof v === "string" && chars(v) >= 1 && chars(v) <= 200) request[key] = v;
    else bad.push(key);
  }
  if (typeof json.hash === "string" && HEX64.test(json.hash)) request.hash = json.hash;
  else bad.push("hash");
  if (has(json, "account")) {
    if (validAddress(json.account)) request.account = json.account;
    else bad.push("account");
  }
  if (has(json, "id")) {
    if (echoable(json.id)) request.id = json.id;
    else bad.push("id");
  }
  if (has(json, "timeout")) {
    // Rounded down, as the original's int().
    const t = numberOf(json.timeout);
    const whole = t === undefined ? undefined : Math.floor(t);
    if (whole !== undefined && whole >= 1 && whole <= 30) request.timeout = whole;
    else bad.push("timeout");
  } else request.timeout = 5;
  if (has(json, "difficulty")) {
    if (typeof json.difficulty === "string" && HEX16.test(json.difficulty))
      request.difficulty = json.difficulty;
    else bad.push("difficulty");
  }
  if (has(json, "multiplier")) {
    const m = numberOf(json.multiplier);
    // No upper bound here: the difficulty policy refuses what is above the hub's maximum.
    if (m !== undefined && Number.isFinite(m) && m > 0) request.multiplier = m;
    else bad.push("multiplier");
  }
  return bad.length === 0 ? { ok: true, request } : { ok: false, fields: bad };
}

const POLICIES = [
  new DifficultyPolicy(SEND_THRESHOLD, 8, "clamp"),
  new DifficultyPolicy(SEND_THRESHOLD, 8, "refuse"),
  new DifficultyPolicy(DEV_BASE, 64, "clamp"),
];

/** Service requests; `odd` says how often a field is wrong (see `field`). */
const serviceRequestJson = (odd: number) =>
  mutated(
    object(
      {
        user: field(
          fc.oneof(fc.constantFrom("svc", "a", "x".repeat(200), "x".repeat(201)), fc.string()),
          odd,
        ),
        api_key: field(fc.oneof(fc.constantFrom("key", "k".repeat(200), "k".repeat(201)), fc.string()), odd),
        hash: field(nearHex(64), odd),
        account: field(address, odd),
        id: fc.oneof(
          fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
          fc.integer({ min: 0, max: 5000 }).map((n) => JSON.stringify("i".repeat(n))),
          wrongJson,
        ),
        timeout: field(
          fc.oneof(
            fc.integer({ min: -1, max: 32 }),
            fc.constantFrom(0.5, 0.999, 1.5, 29.999, 30.0001, 30.9, 31),
          ),
          odd,
        ),
        difficulty: field(nearHex(16), odd),
        multiplier: field(
          fc.oneof(
            fc.double({ min: 0, max: 2e6, noNaN: true }),
            fc.constantFrom(1, 0.125, 1 / 64, 8, 64, 1e6, 1e-9, 5e-324),
          ),
          odd,
        ),
        action: field(fc.constant("work_generate"), odd),
      },
      ["user", "api_key", "hash"],
    ),
  );

const serviceRequest: FuzzTarget = {
  name: "service-request",
  parser: "src/protocol/service.ts parseServiceRequest (fast path and schema), then DifficultyPolicy.resolve",
  input: fc.oneof(serviceRequestJson(4), serviceRequestJson(1)),
  check(body) {
    const parsed = parseServiceRequest(body);
    const expected = referenceServiceRequest(body);
    expect(parsed.ok, "verdict").toBe(expected.ok);
    expectBoundedOutput(parsed, body);
    if (!parsed.ok) {
      expectBoundedLine(parsed.error.error);
      if (expected.ok) return "refused";
      const json = jsonOrUndefined(body);
      const whole = expected.fields.includes("body");
      // The id is echoed exactly when the body was an object that had one short enough to echo;
      // the credentials are handed on (to be checked first) exactly when they are plausible.
      const fields = whole || !isPlainObject(json) ? {} : json;
      const id = echoable(fields.id) ? fields.id : undefined;
      expect(parsed.error.id, "echoed id").toStrictEqual(id);
      const credentials =
        plausible(fields.user) && plausible(fields.api_key)
          ? { user: fields.user, api_key: fields.api_key }
          : undefined;
      expect(parsed.credentials, "credentials").toStrictEqual(credentials);
      if (!whole) {
        // Which field: the schema owns the messages, so its first issue must name a bad field.
        const schema = serviceRequestSchema.safeParse(json);
        expect(schema.success).toBe(false);
        const named = String(schema.error?.issues[0]?.path[0] ?? "");
        expect(expected.fields, "field blamed").toContain(named);
      }
      return "refused";
    }
    if (!expected.ok) return "accepted";
    expect(parsed.request).toStrictEqual(expected.request);
    for (const policy of POLICIES) {
      const resolved = policy.resolve(parsed.request);
      expect(resolved.difficulty).toBeGreaterThanOrEqual(policy.receive);
      expect(resolved.difficulty).toBeLessThanOrEqual(policy.max);
      if (resolved.error !== undefined) expectBoundedLine(resolved.error);
      if (resolved.hint !== undefined) expectBoundedLine(resolved.hint);
      const asked = parsed.request.multiplier;
      if (asked !== undefined && resolved.error === undefined) {
        // Never easier than the multiplier asked for, unless lowered to the hub's maximum.
        if (resolved.difficulty < policy.max)
          expect(toMultiplier(resolved.difficulty, policy.base)).toBeGreaterThanOrEqual(asked);
      } else if (parsed.request.difficulty !== undefined && resolved.error === undefined) {
        const d = BigInt(`0x${parsed.request.difficulty}`);
        const clamped = d < policy.receive ? policy.receive : d > policy.max ? policy.max : d;
        expect(formatU64(resolved.difficulty)).toBe(formatU64(clamped));
      }
    }
    return "accepted";
  },
  verdicts: ["accepted", "refused"],
  huge: () => {
    const body = `{"user":"svc","api_key":"k","hash":"${"A".repeat(64)}","id":"${"x".repeat(64 << 20)}"}`;
    return () => parseServiceRequest(body);
  },
};

// ---------------------------------------------------------------------------------------------
// MQTT payloads (docs/wire-protocol.md): result/* (read by the hub), work/* and cancel/* (read by workers)

/** Splits a payload as the grammar says: UTF-8, at most 256 bytes, exactly `count` comma-separated fields. */
function referenceFields(payload: Buffer, count: number): string[] | undefined {
  if (payload.length > MAX_PAYLOAD_BYTES) return undefined;
  const fields = payload.toString("utf8").split(",");
  return fields.length === count ? fields : undefined;
}

/** The payload as bytes: its UTF-8 encoding, and, where every character fits a byte, those bytes. */
function payloadsOf(text: string): Buffer[] {
  const out = [Buffer.from(text, "utf8")];
  if ([...text].every((c) => c.charCodeAt(0) < 256)) out.push(Buffer.from(text, "latin1"));
  return out;
}

function checkPayload<T>(
  text: string,
  parse: (payload: Buffer) => { ok: true; value: T } | { ok: false; error: string },
  reference: (payload: Buffer) => T | undefined,
): string {
  let verdict = "";
  for (const payload of payloadsOf(text)) {
    const parsed = parse(payload);
    const expected = reference(payload);
    expect(parsed.ok, "verdict").toBe(expected !== undefined);
    if (parsed.ok) expect(parsed.value).toStrictEqual(expected);
    else expectBoundedLine(parsed.error);
    expectBoundedOutput(parsed, payload.toString("latin1"));
    verdict ||= parsed.ok ? "accepted" : "refused";
  }
  return verdict;
}

const topicSafe = fc.oneof(
  { weight: 6, arbitrary: address },
  { weight: 1, arbitrary: fc.string({ maxLength: 110 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "#", "+", "a/b", "nano_#", "x".repeat(100), "x".repeat(101)) },
);

const resultPayload: FuzzTarget = {
  name: "mqtt-result",
  parser: "src/protocol/topics.ts parseResultPayload (result/* payloads the hub reads)",
  input: mutated(csv([nearHex(64), nearHex(16), topicSafe])),
  check(text) {
    // addressError is compared on its own below: the reference leaves it null here.
    const withoutAddressError = (payload: Buffer) => {
      const parsed = parseResultPayload(payload);
      return parsed.ok ? { ok: true as const, value: { ...parsed.value, addressError: null } } : parsed;
    };
    const verdict = checkPayload(text, withoutAddressError, (payload) => {
      const fields = referenceFields(payload, 3);
      if (!fields) return undefined;
      const [hash = "", work = "", addr = ""] = fields;
      if (!HEX64.test(hash) || !HEX16.test(work) || !/^[A-Za-z0-9_]{1,100}$/.test(addr)) return undefined;
      return { hash: hash.toUpperCase(), work: BigInt(`0x${work}`), address: addr, addressError: null };
    });
    // addressError: null exactly for a valid Nano address (by nanocurrency); else a bounded reason.
    for (const payload of payloadsOf(text)) {
      const parsed = parseResultPayload(payload);
      if (!parsed.ok) continue;
      if (validAddress(parsed.value.address)) expect(parsed.value.addressError).toBeNull();
      else expectBoundedLine(parsed.value.addressError);
    }
    return verdict;
  },
  verdicts: ["accepted", "refused"],
  huge: () => {
    const payload = Buffer.from(`${"A".repeat(64)},${"0".repeat(16)},${"x".repeat(64 << 20)}`);
    return () => parseResultPayload(payload);
  },
};

const workPayload: FuzzTarget = {
  name: "mqtt-work",
  parser: "src/protocol/topics.ts parseWorkPayload (work/* payloads a worker reads)",
  input: mutated(csv([nearHex(64), nearHex(16)])),
  check(text) {
    return checkPayload(text, parseWorkPayload, (payload) => {
      const fields = referenceFields(payload, 2);
      if (!fields) return undefined;
      const [hash = "", difficulty = ""] = fields;
      if (!HEX64.test(hash) || !HEX16.test(difficulty)) return undefined;
      return { hash: hash.toUpperCase(), difficulty: BigInt(`0x${difficulty}`) };
    });
  },
  verdicts: ["accepted", "refused"],
  huge: () => {
    const payload = Buffer.from(`${"A".repeat(64)},${"f".repeat(64 << 20)}`);
    return () => parseWorkPayload(payload);
  },
};

const cancelPayload: FuzzTarget = {
  name: "mqtt-cancel",
  parser: "src/protocol/topics.ts parseCancelPayload (cancel/* payloads a worker reads)",
  input: mutated(csv([nearHex(64)])),
  check(text) {
    return checkPayload(text, parseCancelPayload, (payload) => {
      const fields = referenceFields(payload, 1);
      const [hash = ""] = fields ?? [];
      return fields && HEX64.test(hash) ? hash.toUpperCase() : undefined;
    });
  },
  verdicts: ["accepted", "refused"],
  huge: () => {
    const payload = Buffer.from("A".repeat(64 << 20));
    return () => parseCancelPayload(payload);
  },
};

// ---------------------------------------------------------------------------------------------
// Node confirmations (docs/node-interfaces.md): the WebSocket feed and the HTTP callback

/** State blocks; `odd` says how often a field is wrong (see `field`). */
const blockFields = (odd: number) => ({
  type: field(fc.constantFrom("state", "state", "state", "send", "receive", "open", "change", "State"), odd),
  account: field(address, odd),
  previous: field(fc.oneof(nearHex(64), fc.constant(ZERO64)), odd),
  representative: field(address, odd),
  balance: field(
    fc.oneof(fc.bigInt({ min: 0n, max: 1n << 129n }).map(String), fc.string({ maxLength: 45 })),
    odd,
  ),
  link: field(nearHex(64), odd),
  signature: field(nearHex(128), odd),
  work: field(nearHex(16), odd),
});
const BLOCK_FIELDS = ["type", "account", "previous", "representative", "balance", "link", "signature"];

/** A vector's real signed block (authentic as is), or a generated one. */
const blockJson = (odd: number) =>
  fc.oneof(
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(...vectors.blocks)
        .map(({ block }) => JSON.stringify({ ...block, work: "0".repeat(16) })),
    },
    { weight: 3, arbitrary: object(blockFields(odd), BLOCK_FIELDS) },
  );
const confirmedHash = fc.oneof(fc.constantFrom(...vectors.blocks.map((b) => b.hash)), nearHex(64));

type ConfirmationVerdict = "ok" | "ignored" | "error";

/** A state block as the node sends it: the fields the hub needs, hex and size bounded (docs/node-interfaces.md). */
function stateBlockOk(block: unknown): block is Record<string, string> {
  if (!isPlainObject(block) || block.type !== "state") return false;
  const short = (v: unknown, max: number) => typeof v === "string" && chars(v) <= max;
  return (
    short(block.account, 70) &&
    typeof block.previous === "string" &&
    HEX64.test(block.previous) &&
    short(block.representative, 70) &&
    short(block.balance, 40) &&
    typeof block.link === "string" &&
    HEX64.test(block.link) &&
    short(block.signature, 128) &&
    (!has(block, "work") || short(block.work, 16))
  );
}

/** What the hub must take from a block: account canonical, root its previous or (open block) its key. */
function expectConfirmation(
  parsed: ReturnType<typeof parseFeedMessage>,
  hash: string,
  block: Record<string, string>,
): void {
  if (parsed.ok !== true) return;
  const { confirmation } = parsed;
  expect(confirmation.account).toBe(canonical(block.account as string));
  expect(confirmation.hash).toBe(hash.toUpperCase());
  expect(confirmation.previous).toBe((block.previous as string).toUpperCase());
  const root =
    block.previous === ZERO64 ? nanocurrency.derivePublicKey(block.account as string) : block.previous;
  expect(confirmation.root).toBe((root as string).toUpperCase());
  // Authenticity is checked later; it must never throw, and a vector's block is authentic.
  const authentic = isAuthentic(confirmation);
  const vector = vectors.blocks.find((v) => v.hash === hash.toUpperCase());
  if (
    vector &&
    Object.keys(vector.block).every(
      (k) => k === "work" || k === "link_as_account" || vector.block[k] === block[k],
    )
  )
    expect(authentic).toBe(true);
}

function verdictOf(parsed: ReturnType<typeof parseFeedMessage>): ConfirmationVerdict {
  if (parsed.ok === "ignored") return "ignored";
  if (parsed.ok) return "ok";
  expectBoundedLine(parsed.error);
  return "error";
}

const nodeFeed: FuzzTarget = {
  name: "node-feed",
  parser: "src/hub/precache/confirmation.ts parseFeedMessage (node WebSocket messages)",
  input: fc.constantFrom(4, 1).chain((odd) =>
    mutated(
      object(
        {
          topic: field(fc.constantFrom("confirmation", "confirmation", "ack", "vote", "Confirmation"), odd),
          time: field(fc.constant("1700000000000"), odd),
          message: fc.oneof(
            {
              weight: 6,
              arbitrary: object(
                { account: field(address, odd), hash: field(confirmedHash, odd), block: blockJson(odd) },
                ["hash", "block"],
              ),
            },
            { weight: 1, arbitrary: wrongJson },
          ),
        },
        ["topic", "message"],
      ),
    ),
  ),
  check(text) {
    const parsed = parseFeedMessage(text);
    expectBoundedOutput(parsed, text);
    const json = jsonOrUndefined(text);
    let expected: ConfirmationVerdict;
    const message = isPlainObject(json) && isPlainObject(json.message) ? json.message : undefined;
    const block = message?.block;
    if (text.length > MAX_CONFIRMATION_BYTES) expected = "error";
    else if (json === undefined) expected = "error";
    else if (!isPlainObject(json) || json.topic !== "confirmation") expected = "ignored";
    else if (message && typeof message.hash === "string" && HEX64.test(message.hash) && stateBlockOk(block))
      expected = validAddress(block.account) ? "ok" : "error";
    else if (isPlainObject(block) && typeof block.type === "string" && block.type !== "state")
      expected = "ignored";
    else expected = "error";
    expect(verdictOf(parsed), "verdict").toBe(expected);
    if (expected === "ok")
      expectConfirmation(parsed, message?.hash as string, block as Record<string, string>);
    return expected;
  },
  verdicts: ["ok", "ignored", "error"],
  huge: () => {
    const text = `{"topic":"confirmation","message":{"hash":"${"x".repeat(64 << 20)}"}}`;
    return () => parseFeedMessage(text);
  },
};

const nodeCallback: FuzzTarget = {
  name: "node-callback",
  parser: "src/hub/precache/confirmation.ts parseCallbackBody (POST /block/, the node's HTTP callback)",
  input: fc.constantFrom(4, 1).chain((odd) =>
    mutated(
      object(
        {
          account: field(address, odd),
          hash: field(confirmedHash, odd),
          block: fc.oneof(
            { weight: 6, arbitrary: mutated(blockJson(odd)).map((b) => JSON.stringify(b)) },
            { weight: 1, arbitrary: blockJson(odd) },
            { weight: 1, arbitrary: wrongJson },
          ),
          amount: field(fc.constant("1000"), odd),
          is_send: field(fc.constant("true"), odd),
        },
        ["hash", "block"],
      ),
    ),
  ),
  check(text) {
    const parsed = parseCallbackBody(text);
    expectBoundedOutput(parsed, text);
    const json = jsonOrUndefined(text);
    let expected: ConfirmationVerdict;
    let inner: unknown;
    if (text.length > MAX_CONFIRMATION_BYTES) expected = "error";
    else if (
      !isPlainObject(json) ||
      typeof json.hash !== "string" ||
      !HEX64.test(json.hash) ||
      typeof json.block !== "string"
    )
      expected = "error";
    else {
      inner = jsonOrUndefined(json.block);
      if (stateBlockOk(inner)) expected = validAddress(inner.account) ? "ok" : "error";
      else expected = isPlainObject(inner) && inner.type === "state" ? "error" : "ignored";
    }
    expect(verdictOf(parsed), "verdict").toBe(expected);
    if (expected === "ok" && isPlainObject(json))
      expectConfirmation(parsed, json.hash as string, inner as Record<string, string>);
    return expected;
  },
  verdicts: ["ok", "ignored", "error"],
  huge: () => {
    const text = `{"hash":"${"A".repeat(64)}","block":"${"x".repeat(64 << 20)}"}`;
    return () => parseCallbackBody(text);
  },
};

// ---------------------------------------------------------------------------------------------
// Work server RPC (docs/node-interfaces.md, nano-work-server's grammar and error texts)

type RpcVerdict = Record<string, unknown>;
const DESERIALIZE = "Failed to deserialize JSON";
const BAD_HASH = "Bad block hash";

class Refused extends Error {
  constructor(readonly reply: string) {
    super(reply);
  }
}
const refuse = (error: string): never => {
  throw new Refused(error);
};

/** nano-work-server's request grammar, with each of its error texts. */
function referenceRpc(body: unknown): RpcVerdict {
  try {
    if (!isPlainObject(body) || !has(body, "action")) refuse(DESERIALIZE);
    const request = body as Record<string, unknown>;
    const root = () => {
      if (!has(request, "hash")) refuse(DESERIALIZE);
      const h = request.hash;
      return typeof h === "string" && HEX64.test(h) ? h.toLowerCase() : refuse(BAD_HASH);
    };
    const work = () => {
      if (!has(request, "work")) refuse(DESERIALIZE);
      const w = request.work;
      // Shorter work is zero-extended on the left (even lengths only, as hex bytes).
      return typeof w === "string" && /^([0-9a-fA-F]{2}){1,8}$/.test(w)
        ? BigInt(`0x${w}`)
        : refuse(DESERIALIZE);
    };
    const threshold = (): { kind: "multiplier"; value: number } | bigint | undefined => {
      if (has(request, "multiplier")) {
        const m = request.multiplier;
        // A decimal float in a string (digits, an optional fraction and exponent), blanks around it.
        const decimal = typeof m === "string" && /^\s*\+?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?\s*$/i.test(m);
        const n = typeof m === "string" ? (decimal ? Number(m) : undefined) : m;
        return typeof n === "number" && Number.isFinite(n) && n > 0
          ? { kind: "multiplier", value: n }
          : refuse(DESERIALIZE);
      }
      if (has(request, "difficulty")) {
        const d = request.difficulty;
        return typeof d === "string" && /^[0-9a-fA-F]{1,16}$/.test(d)
          ? BigInt(`0x${d}`)
          : refuse(DESERIALIZE);
      }
      return undefined;
    };
    const count = () => {
      if (!has(request, "count")) refuse(DESERIALIZE);
      const c = request.count;
      const n = typeof c === "string" && /^\d+$/.test(c) ? Number(c) : c;
      return typeof n === "number" && Number.isSafeInteger(n) && n > 0 && n <= 1000 ? n : refuse(DESERIALIZE);
    };
    switch (request.action) {
      case "work_generate":
        return { action: "work_generate", root: root(), threshold: threshold() ?? SEND_THRESHOLD };
      case "work_cancel":
        return { action: "work_cancel", root: root() };
      case "work_validate":
        return { action: "work_validate", root: root(), work: work(), threshold: threshold() };
      case "benchmark":
        return { action: "benchmark", threshold: threshold() ?? SEND_THRESHOLD, count: count() };
      case "status":
      case "work_server_status":
        return { action: "status" };
      default:
        return refuse("Unknown command");
    }
  } catch (err) {
    if (err instanceof Refused) return { error: err.reply };
    throw err;
  }
}

const workServerRpc: FuzzTarget = {
  name: "work-server-rpc",
  parser: "src/pow/work-server/rpc.ts parseRpc (bodies of dpow work-server)",
  input: mutated(
    object({
      action: field(
        fc.constantFrom(
          "work_generate",
          "work_cancel",
          "work_validate",
          "benchmark",
          "status",
          "work_server_status",
          "WORK_GENERATE",
          "toString",
          "__proto__",
        ),
      ),
      hash: field(nearHex(64)),
      work: field(
        fc.oneof(
          nearHex(16),
          fc.integer({ min: 0, max: 18 }).chain((n) => hex(n)),
        ),
      ),
      difficulty: field(
        fc.oneof(
          nearHex(16),
          fc.integer({ min: 0, max: 18 }).chain((n) => hex(n)),
        ),
      ),
      multiplier: field(
        fc.oneof(
          fc.double({ noNaN: true }),
          fc.constantFrom(1, 0.125, 8, 1e-300, 1e300),
          fc.constantFrom(
            "0x10",
            "0b1",
            "0o7",
            ".5",
            "5.",
            "+2",
            "-2",
            "1e3",
            "1E-3",
            " 2 ",
            "Infinity",
            "1_0",
          ),
        ),
      ),
      count: field(fc.oneof(fc.integer({ min: -1, max: 1001 }), fc.constantFrom(2 ** 53, 1.5))),
    }),
  ),
  check(text) {
    const json = jsonOrUndefined(text);
    if (json === undefined) return "not JSON"; // the server answers 400 before parseRpc
    const expected = referenceRpc(json);
    let got: RpcVerdict;
    try {
      const command = parseRpc(json);
      const out: Record<string, unknown> = { ...command };
      if ("root" in command) out.root = Buffer.from(command.root).toString("hex");
      got = out;
    } catch (err) {
      if (!(err instanceof RpcRequestError)) throw err;
      expectBoundedLine(err.message);
      got = { error: err.reply.error };
    }
    if ("threshold" in expected && typeof expected.threshold === "object" && expected.threshold !== null) {
      // A multiplier: the threshold must be exactly as hard as asked, not easier (docs/wire-protocol.md, work and difficulty).
      const asked = (expected.threshold as { value: number }).value;
      expect(typeof got.threshold, "threshold").toBe("bigint");
      const t = got.threshold as bigint;
      if (t < (1n << 64n) - 1n) expect(toMultiplier(t, SEND_THRESHOLD)).toBeGreaterThanOrEqual(asked);
      expected.threshold = t;
    }
    expect(got).toStrictEqual(expected);
    expectBoundedOutput(got, text);
    return typeof got.error === "string" ? got.error : "accepted";
  },
  verdicts: ["accepted", DESERIALIZE, BAD_HASH, "Unknown command"],
};

// ---------------------------------------------------------------------------------------------
// Worker feedback on client/ADDRESS (docs/wire-protocol.md)

const COUNT_STRING = /^\d+$/;
const countOf = (v: unknown): number | undefined => {
  const n = typeof v === "number" ? v : typeof v === "string" && COUNT_STRING.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
};

/** client/ feedback: `{"error": text}`, or counters (numbers or digit strings) and optionally the hash rewarded. */
function referenceFeedback(payload: Buffer): unknown {
  if (payload.length > 4096) return "invalid";
  const json = jsonOrUndefined(payload.toString("utf8"));
  if (!isPlainObject(json)) return "invalid";
  if (typeof json.error === "string" && chars(json.error) <= 500) return { kind: "error", error: json.error };
  const precache = countOf(json.precache);
  const ondemand = countOf(json.ondemand);
  if (precache === undefined || ondemand === undefined) return "invalid";
  const out: Record<string, unknown> = { kind: "credits", precache, ondemand };
  const snapshot: Record<string, number> = {};
  for (const key of ["precache", "ondemand"]) {
    const name = `snapshot_${key}`;
    if (!has(json, name)) continue;
    const n = countOf(json[name]);
    if (n === undefined) return "invalid";
    snapshot[key] = n;
  }
  if (snapshot.precache !== undefined && snapshot.ondemand !== undefined) out.snapshot = snapshot;
  if (has(json, "block_rewarded")) {
    const h = json.block_rewarded;
    if (typeof h !== "string" || !HEX64.test(h)) return "invalid";
    out.blockRewarded = h.toUpperCase();
  }
  return out;
}

const counter = fc.oneof({ weight: 4, arbitrary: fc.nat() }, fc.constantFrom(0, 2 ** 53, -1, 1.5));
const credits = (odd: number) => ({
  precache: field(counter, odd),
  ondemand: field(counter, odd),
  snapshot_precache: field(counter, odd),
  snapshot_ondemand: field(counter, odd),
  block_rewarded: field(nearHex(64), odd),
});
const feedbackError = field(
  fc.oneof(fc.constant("Invalid payout address: checksum"), fc.string({ maxLength: 510 })),
);
const workerFeedback: FuzzTarget = {
  name: "worker-feedback",
  parser: "src/protocol/feedback.ts parseFeedback (client/ADDRESS messages a worker reads)",
  input: fc
    .constantFrom(4, 1)
    .chain((odd) =>
      mutated(
        fc.oneof(
          object({ error: feedbackError }, ["error"]),
          object(credits(odd), ["precache", "ondemand"]),
          object({ ...credits(odd), error: feedbackError }),
        ),
      ),
    ),
  check(text) {
    let verdict = "";
    for (const payload of payloadsOf(text)) {
      const parsed = parseFeedback(payload);
      const expected = referenceFeedback(payload);
      if (expected === "invalid") {
        expect(parsed.kind, "verdict").toBe("invalid");
        if (parsed.kind === "invalid") expectBoundedLine(parsed.reason);
      } else expect(parsed).toStrictEqual(expected);
      expectBoundedOutput(parsed, payload.toString("latin1"));
      verdict ||= parsed.kind;
    }
    return verdict;
  },
  verdicts: ["credits", "error", "invalid"],
  huge: () => {
    const payload = Buffer.from(`{"precache":1,"ondemand":2,"error":"${"x".repeat(64 << 20)}"}`);
    return () => parseFeedback(payload);
  },
};

export const targets: FuzzTarget[] = [
  serviceRequest,
  resultPayload,
  workPayload,
  cancelPayload,
  nodeFeed,
  nodeCallback,
  workServerRpc,
  workerFeedback,
];
