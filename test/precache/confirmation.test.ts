import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDuration, precacheSettings } from "../../src/cli/precache-flags.js";
import { isAuthentic, parseCallbackBody, parseFeedMessage } from "../../src/hub/precache/confirmation.js";
import { bytesToHex } from "../../src/nano/hex.js";
import {
  buildBlock,
  type ChainBlock,
  keyFromSeed,
  TEST_SEED,
  TEST_THRESHOLDS,
  ZERO_HASH,
} from "../fixtures/nano-node/index.js";

const alice = keyFromSeed(TEST_SEED, 7);
const opening = buildBlock(
  { key: alice, previous: ZERO_HASH, balance: 0n, representative: alice.address },
  { type: "receive", source: "AB".repeat(32), amount: 5n },
  TEST_THRESHOLDS,
);
const next = buildBlock(
  { key: alice, previous: opening.hash, balance: 5n, representative: alice.address },
  { type: "send", to: alice.address, amount: 1n },
  TEST_THRESHOLDS,
);

const feedMessage = (block: ChainBlock) =>
  JSON.stringify({
    topic: "confirmation",
    time: "1",
    message: {
      account: alice.address,
      amount: "1",
      hash: block.hash,
      block: { ...block.block, subtype: "send" },
    },
  });
const callbackBody = (block: ChainBlock) =>
  JSON.stringify({
    account: alice.address,
    hash: block.hash,
    block: JSON.stringify(block.block),
    is_send: "true",
  });

describe("confirmations from the node", () => {
  it("reads the WebSocket and the HTTP callback forms alike", () => {
    for (const parsed of [parseFeedMessage(feedMessage(next)), parseCallbackBody(callbackBody(next))]) {
      if (parsed.ok !== true) throw new Error(JSON.stringify(parsed));
      expect(parsed.confirmation).toMatchObject({
        account: alice.address,
        hash: next.hash,
        root: opening.hash,
      });
      expect(isAuthentic(parsed.confirmation)).toBe(true);
    }
  });

  it("takes the account key as the root of an open block", () => {
    const parsed = parseFeedMessage(feedMessage(opening));
    if (parsed.ok !== true) throw new Error("not parsed");
    expect(parsed.confirmation.root).toBe(bytesToHex(alice.publicKey).toUpperCase());
    expect(parsed.confirmation.hash).toBe(opening.hash);
  });

  it("ignores acks, other topics and legacy blocks, and says what is wrong with the rest", () => {
    expect(parseFeedMessage('{"ack":"subscribe","time":"1"}')).toEqual({ ok: "ignored" });
    expect(parseFeedMessage('{"topic":"vote","message":{}}')).toEqual({ ok: "ignored" });
    const legacy = { topic: "confirmation", message: { hash: next.hash, block: { type: "send" } } };
    expect(parseFeedMessage(JSON.stringify(legacy))).toEqual({ ok: "ignored" });
    expect(parseFeedMessage("{oops")).toEqual({ ok: false, error: "not JSON" });
    const noBlock = parseCallbackBody(JSON.stringify({ hash: next.hash }));
    expect(noBlock).toMatchObject({ ok: false, error: expect.stringMatching(/block/) });
    const badAccount = parseCallbackBody(
      callbackBody({ ...next, block: { ...next.block, account: "nano_1" } }),
    );
    expect(badAccount).toMatchObject({ ok: false, error: expect.stringMatching(/address/) });
  });

  it("finds any change to a signed block, or a hash that is not the block's", () => {
    const fields = ["balance", "link", "previous", "representative"] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.integer({ min: 1, max: 9 }), (field, digit) => {
        const original = next.block[field];
        const changed =
          field === "balance" ? String(BigInt(original) + BigInt(digit)) : tweak(original, field, digit);
        const parsed = parseCallbackBody(
          callbackBody({ ...next, block: { ...next.block, [field]: changed } }),
        );
        if (parsed.ok === true) expect(isAuthentic(parsed.confirmation)).toBe(false);
      }),
    );
    const wrongHash = parseFeedMessage(feedMessage({ ...next, hash: opening.hash }));
    if (wrongHash.ok !== true) throw new Error("not parsed");
    expect(isAuthentic(wrongHash.confirmation)).toBe(false);
  });
});

/** `value` with one character changed: an address stays well-formed (its key changes, its checksum no longer matches). */
function tweak(value: string, field: string, digit: number): string {
  const at = field === "representative" ? 10 : 5;
  const swap = value[at] === String(digit) ? String((digit % 9) + 1) : String(digit);
  return value.slice(0, at) + swap + value.slice(at + 1);
}

describe("precache flags", () => {
  it("reads durations and refuses what makes no sense, saying which flag", () => {
    expect(parseDuration("90", "--x")).toBe(90_000);
    expect(parseDuration("15m", "--x")).toBe(900_000);
    expect(parseDuration("7d", "--x")).toBe(7 * 86_400_000);
    expect(() => parseDuration("soon", "--frontier-ttl")).toThrow(/--frontier-ttl must be a duration/);
    const base = TEST_THRESHOLDS.send;
    expect(precacheSettings({}, base, 8)).toBeUndefined();
    expect(() => precacheSettings({ nodeWs: "ws://[::1]:7078" }, base, 8)).toThrow(
      /--node-ws only works with --precache: add --precache/,
    );
    expect(() => precacheSettings({ precache: true, nodeWs: "http://x" }, base, 8)).toThrow(/ws:\/\//);
    expect(() =>
      precacheSettings({ precache: true, precacheDifficulty: "ff00000000000000" }, base, 8),
    ).toThrow(/from the send base/);
    expect(() => precacheSettings({ precache: true, frontierLimit: "0" }, base, 8)).toThrow(
      /--frontier-limit/,
    );
    expect(precacheSettings({ precache: true, nodeWs: "ws://[::1]:7078" }, base, 8)).toEqual({
      nodeWs: "ws://[::1]:7078",
      difficulty: base,
      frontierLimit: 100_000,
      frontierTtlMs: 7 * 86_400_000,
    });
  });
});
