import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { workRoot } from "../../src/nano/block.js";
import { formatU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import {
  type BlockJson,
  buildBlock,
  findInvalidWork,
  keyFromSeed,
  makeChain,
  NANO,
  NanoNodeSimulator,
  TEST_THRESHOLDS,
} from "../fixtures/nano-node/index.js";

let sim: NanoNodeSimulator;

beforeEach(async () => {
  sim = await NanoNodeSimulator.start();
});
afterEach(async () => {
  await sim.close();
});

async function rpc(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(sim.rpcUrl, { method: "POST", body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

function processJson(block: BlockJson) {
  return rpc({ action: "process", json_block: "true", block });
}

const stranger = keyFromSeed("00".repeat(32), 7);

describe("nano node simulator: ledger RPC", () => {
  it("reports seeded balances and account info like the node", async () => {
    const [alice] = sim.funded;
    expect(await rpc({ action: "account_balance", account: alice?.address })).toEqual({
      balance: (1000n * NANO).toString(),
      pending: "0",
      receivable: "0",
    });
    const info = await rpc({ action: "account_info", account: alice?.address, representative: "true" });
    expect(info).toMatchObject({ block_count: "1", representative: sim.genesis.address });
    expect(info.frontier).toBe(info.open_block);
    expect(await rpc({ action: "account_info", account: stranger.address })).toEqual({
      error: "Account not found",
    });
    expect(await rpc({ action: "account_balance", account: "nano_1bad" })).toEqual({
      error: "Bad account number",
    });
    expect(await rpc({ action: "no_such_action" })).toEqual({ error: "Unknown command" });
  });

  it("accepts a valid chain in both block forms, then refuses it as old", async () => {
    const alice = sim.funded[0];
    if (!alice) throw new Error("no funded account");
    const [send, change] = makeChain(
      sim.head(alice),
      [
        { type: "send", to: stranger.address, amount: 5n },
        { type: "change", representative: stranger.address },
      ],
      TEST_THRESHOLDS,
    );
    if (!send || !change) throw new Error("chain too short");
    expect(await processJson(send.block)).toEqual({ hash: send.hash });
    expect(await rpc({ action: "process", block: JSON.stringify(change.block), subtype: "change" })).toEqual({
      hash: change.hash,
    });
    expect(await processJson(send.block)).toEqual({ error: "Old block" });
    const info = await rpc({ action: "block_info", hash: send.hash, json_block: true });
    expect(info).toMatchObject({ amount: "5", subtype: "send", height: "2", successor: change.hash });
    expect(info.contents).toEqual(send.block);
    expect(await rpc({ action: "account_balance", account: stranger.address })).toMatchObject({
      receivable: "5",
    });
    const [open] = makeChain(
      sim.head(stranger),
      [{ type: "receive", source: send.hash, amount: 5n }],
      TEST_THRESHOLDS,
    );
    if (!open) throw new Error("no open block");
    expect(await processJson(open.block)).toEqual({ hash: open.hash });
    expect(sim.balance(stranger.address)).toBe(5n);
    const again = buildBlock(
      sim.head(stranger),
      { type: "receive", source: send.hash, amount: 5n },
      TEST_THRESHOLDS,
    );
    expect(await processJson(again.block)).toEqual({ error: "Unreceivable" });
  });

  it("refuses a bad signature, insufficient work, forks, gaps and wrong subtypes", async () => {
    const alice = sim.funded[0];
    if (!alice) throw new Error("no funded account");
    const head = sim.head(alice);
    const send = buildBlock(head, { type: "send", to: stranger.address, amount: 1n }, TEST_THRESHOLDS);
    const forged = {
      ...send.block,
      signature: send.block.signature.replace(/^./, (c) => (c === "0" ? "1" : "0")),
    };
    expect(await processJson(forged)).toEqual({ error: "Bad signature" });
    const lazy = { ...send.block, work: findInvalidWork(workRoot(send.block), TEST_THRESHOLDS.receive) };
    expect(await processJson(lazy)).toEqual({ error: "Block work is insufficient" });
    // Work good enough for a receive is not enough for a send.
    const root = workRoot(send.block);
    let nonce = 0n;
    for (;;) {
      const value = workValue(root, nonce);
      if (value >= TEST_THRESHOLDS.receive && value < TEST_THRESHOLDS.send) break;
      nonce++;
    }
    const receiveLevel = { ...send.block, work: formatU64(nonce) };
    expect(await processJson(receiveLevel)).toEqual({ error: "Block work is insufficient" });
    expect(await rpc({ action: "process", json_block: true, subtype: "receive", block: send.block })).toEqual(
      {
        error: "Invalid block balance for given subtype",
      },
    );
    expect(await processJson(send.block)).toEqual({ hash: send.hash });
    const rival = buildBlock(head, { type: "send", to: stranger.address, amount: 2n }, TEST_THRESHOLDS);
    expect(await processJson(rival.block)).toEqual({ error: "Fork" });
    const orphan = buildBlock(
      { ...head, previous: "AB".repeat(32) },
      { type: "send", to: stranger.address, amount: 1n },
      TEST_THRESHOLDS,
    );
    expect(await processJson(orphan.block)).toEqual({ error: "Gap previous block" });
    expect(await rpc({ action: "process", block: "{not json" })).toEqual({ error: "Block is invalid" });
  });

  it("never accepts a block with any field changed after signing", async () => {
    const alice = sim.funded[0];
    if (!alice) throw new Error("no funded account");
    const send = buildBlock(
      sim.head(alice),
      { type: "send", to: stranger.address, amount: 3n },
      TEST_THRESHOLDS,
    );
    const fields = ["previous", "link", "signature", "balance", "representative"] as const;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fields), fc.nat(), async (field, n) => {
        const original = send.block[field];
        const mutated =
          field === "balance"
            ? (BigInt(original) - 1n - BigInt(n % 1000)).toString()
            : field === "representative"
              ? stranger.address
              : original.slice(0, n % 64) +
                (original[n % 64] === "A" ? "B" : "A") +
                original.slice((n % 64) + 1);
        if (mutated === original) return;
        const answer = await processJson({ ...send.block, [field]: mutated });
        expect(answer.error).toBeTypeOf("string");
      }),
      { numRuns: 40 },
    );
  });

  it("block_create builds a block that process accepts", async () => {
    const alice = sim.funded[0];
    if (!alice) throw new Error("no funded account");
    const created = await rpc({
      action: "block_create",
      type: "state",
      json_block: "true",
      key: Buffer.from(alice.secretKey).toString("hex"),
      previous: sim.head(alice).previous,
      representative: alice.address,
      balance: (1000n * NANO - 10n).toString(),
      link: stranger.address,
    });
    expect(created.hash).toMatch(/^[0-9A-F]{64}$/);
    expect(await processJson(created.block as BlockJson)).toEqual({ hash: created.hash });
    const valid = await rpc({
      action: "work_validate",
      hash: (created.block as BlockJson).previous,
      work: (created.block as BlockJson).work,
    });
    expect(valid).toMatchObject({ valid_all: "1", valid_receive: "1", difficulty: created.difficulty });
  });
});

describe("nano node simulator: wallet send", () => {
  /** The first funded account, and a wallet `send` request of `amount` raw from it to the stranger. */
  function walletSend(amount: string) {
    const [alice] = sim.funded;
    if (!alice) throw new Error("no funded account");
    const wallet = sim.createWallet([alice]);
    return {
      alice,
      request: { action: "send", wallet, source: alice.address, destination: stranger.address, amount },
    };
  }

  it("sends once per id and refuses an overdraft", async () => {
    const { alice, request } = walletSend("7");
    const first = await rpc({ ...request, id: "payout-1" });
    const second = await rpc({ ...request, id: "payout-1" });
    expect(first.block).toMatch(/^[0-9A-F]{64}$/);
    expect(second).toEqual(first);
    expect(sim.balance(alice.address)).toBe(1000n * NANO - 7n);
    const third = await rpc({ ...request, id: "payout-2" });
    expect(third.block).not.toBe(first.block);
    expect(sim.balance(alice.address)).toBe(1000n * NANO - 14n);
    expect(await rpc({ ...request, amount: (1001n * NANO).toString(), id: "too-much" })).toEqual({
      error: "Insufficient balance",
    });
    expect(await rpc({ ...request, wallet: "00".repeat(32) })).toEqual({ error: "Wallet not found" });
    expect(await rpc({ ...request, source: stranger.address })).toEqual({
      error: "Account not found in wallet",
    });
  });

  it("injected faults: an error reply, and a send that happens but whose answer is lost", async () => {
    const { alice, request } = walletSend("1");
    sim.faults.push({ action: "send", mode: "error", message: "Node is busy" });
    expect(await rpc({ ...request, id: "x" })).toEqual({ error: "Node is busy" });
    expect(sim.balance(alice.address)).toBe(1000n * NANO);
    sim.faults.push({ action: "send", mode: "drop-after" });
    await expect(rpc({ ...request, id: "x" })).rejects.toThrow();
    expect(sim.balance(alice.address)).toBe(1000n * NANO - 1n);
    const retry = await rpc({ ...request, id: "x" });
    expect(retry.block).toMatch(/^[0-9A-F]{64}$/);
    expect(sim.balance(alice.address)).toBe(1000n * NANO - 1n);
  });
});

/** A WebSocket client that records every message; `next` waits for one matching a predicate. */
async function subscriber(url: string, options: Record<string, unknown> = {}) {
  const socket = new WebSocket(url);
  const messages: Record<string, unknown>[] = [];
  const waiters: Array<() => void> = [];
  socket.on("message", (data) => {
    messages.push(JSON.parse(String(data)));
    for (const w of waiters.splice(0)) w();
  });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  socket.send(JSON.stringify({ action: "subscribe", topic: "confirmation", ack: true, options }));
  const until = async (count: number) => {
    while (messages.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  await until(1);
  return { socket, messages, until };
}

describe("nano node simulator: confirmation feed", () => {
  it("sends confirmations over the WebSocket with the node's fields", async () => {
    const [alice] = sim.funded;
    if (!alice) throw new Error("no funded account");
    const client = await subscriber(sim.wsUrl);
    expect(client.messages[0]).toMatchObject({ ack: "subscribe" });
    const [send] = makeChain(
      sim.head(alice),
      [{ type: "send", to: stranger.address, amount: 9n }],
      TEST_THRESHOLDS,
    );
    if (!send) throw new Error("no block");
    await processJson(send.block);
    await client.until(2);
    expect(client.messages[1]).toMatchObject({
      topic: "confirmation",
      message: {
        account: alice.address,
        amount: "9",
        hash: send.hash,
        confirmation_type: "active_quorum",
        block: { ...send.block, subtype: "send" },
      },
    });
    expect(await rpc({ action: "block_info", hash: send.hash })).toMatchObject({ confirmed: "true" });
    client.socket.close();
  });

  it("holds confirmations, then delivers them reordered and duplicated; filters by account", async () => {
    await sim.close();
    sim = await NanoNodeSimulator.start({ autoConfirm: false });
    const [alice, bob] = sim.funded;
    if (!alice || !bob) throw new Error("no funded accounts");
    const all = await subscriber(sim.wsUrl);
    const onlyBob = await subscriber(sim.wsUrl, { accounts: [bob.address] });
    const chain = makeChain(
      sim.head(alice),
      [1n, 2n, 3n].map((amount) => ({ type: "send" as const, to: stranger.address, amount })),
      TEST_THRESHOLDS,
    );
    for (const b of chain) await processJson(b.block);
    const bobSend = buildBlock(
      sim.head(bob),
      { type: "send", to: alice.address, amount: 4n },
      TEST_THRESHOLDS,
    );
    await processJson(bobSend.block);
    expect(sim.feed.pending()).toEqual([...chain.map((b) => b.hash), bobSend.hash]);
    await sim.feed.flush({ order: "reverse", duplicate: true });
    await all.until(1 + 8);
    const hashes = all.messages.slice(1).map((m) => (m.message as { hash: string }).hash);
    const reversed = [bobSend.hash, ...chain.map((b) => b.hash).reverse()];
    expect(hashes).toEqual(reversed.flatMap((h) => [h, h]));
    await onlyBob.until(1 + 2);
    expect(onlyBob.messages.slice(1).map((m) => (m.message as { hash: string }).hash)).toEqual([
      bobSend.hash,
      bobSend.hash,
    ]);
    all.socket.close();
    onlyBob.socket.close();
  });

  it("posts the HTTP callback with the block as a JSON string", async () => {
    const bodies: Record<string, unknown>[] = [];
    const callback = createServer((req, res) => {
      let text = "";
      req.on("data", (c) => {
        text += c;
      });
      req.on("end", () => {
        bodies.push(JSON.parse(text));
        res.end();
      });
    });
    await new Promise<void>((resolve) => callback.listen(0, "127.0.0.1", resolve));
    sim.feed.callbackUrls.push(`http://127.0.0.1:${(callback.address() as AddressInfo).port}/block/`);
    const [alice] = sim.funded;
    if (!alice) throw new Error("no funded account");
    const send = buildBlock(
      sim.head(alice),
      { type: "send", to: stranger.address, amount: 2n },
      TEST_THRESHOLDS,
    );
    const delivered = sim.feed.delivered(send.hash);
    await processJson(send.block);
    await delivered;
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({
      account: alice.address,
      hash: send.hash,
      amount: "2",
      subtype: "send",
    });
    expect(JSON.parse(String(bodies[0]?.block))).toEqual({ ...send.block, subtype: "send" });
    await new Promise((resolve) => callback.close(resolve));
  });

  it("a restart drops WebSocket clients and keeps the ledger", async () => {
    const client = await subscriber(sim.wsUrl);
    const closed = new Promise((resolve) => client.socket.once("close", resolve));
    const [alice] = sim.funded;
    if (!alice) throw new Error("no funded account");
    await sim.restart();
    await closed;
    expect(sim.feed.subscriberCount()).toBe(0);
    expect(await rpc({ action: "account_balance", account: alice.address })).toMatchObject({
      balance: (1000n * NANO).toString(),
    });
    const again = await subscriber(sim.wsUrl);
    expect(again.messages[0]).toMatchObject({ ack: "subscribe" });
    again.socket.close();
  });
});
