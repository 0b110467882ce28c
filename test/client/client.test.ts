/**
 * `nano-dpow/client` against the real hub (`dpow server`, spawned) and a real MQTT worker: many
 * requests on one socket, typed errors, reconnection across a hub restart, and the local fallback.
 */
import { spawnSync } from "node:child_process";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import {
  DpowBadRequestError,
  DpowClient,
  type DpowClientOptions,
  DpowCredentialsError,
  DpowTimeoutError,
  DpowUnavailableError,
  errorFromAnswer,
} from "../../src/client/index.js";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { runCli } from "../helpers/cli.js";
import { FakeWorker, newPayout, randomHash, solve, solveBelow } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  spawnHub,
  TEST_DIFFICULTY,
  tempDir,
  waitForMetric,
} from "../helpers/hub-process.js";
import { freePort } from "../helpers/ports.js";

const BASE = parseU64(TEST_DIFFICULTY, "base");
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const temp = tempDir();
const db = join(temp.dir, "hub.db");
let port: number;
let mqttPort: number;
let hub: HubProcess;
let worker: FakeWorker | undefined;
let credentials: { user: string; api_key: string };
const clients: DpowClient[] = [];

function client(options: Partial<DpowClientOptions> = {}): DpowClient {
  const c = new DpowClient({
    url: `http://127.0.0.1:${port}`,
    user: credentials.user,
    apiKey: credentials.api_key,
    base: BASE,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  clients.push(c);
  return c;
}

function expectValid(result: { work: string; hash: string; difficulty: string }, hash: string, at = BASE) {
  expect(result.hash).toBe(hash);
  const value = workValue(parseHash(hash), parseU64(result.work, "work"));
  expect(value >= at).toBe(true);
  expect(result.difficulty).toBe(value.toString(16).padStart(16, "0"));
}

// The client resends on its own as soon as the new hub listens, which can be before the worker is
// back: a persistent session (kept in the hub's session file) queues that job for the worker.
const WORKER = { auto: true, persistent: true, clientId: "ts-client-worker", payout: newPayout() };

async function startHub(): Promise<void> {
  // Both ports fixed: with --mqtt-port 0 the broker, which listens first, could be given `port`.
  hub = await spawnHub(db, ["--port", String(port), "--mqtt-port", String(mqttPort)]);
  worker = await FakeWorker.connect(hub.mqttPort, WORKER);
}

async function stopHub(): Promise<void> {
  await worker?.close();
  worker = undefined;
  await hub.stop();
}

beforeAll(async () => {
  const added = runCli(["service", "add", "ts-client", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  credentials = JSON.parse(added.stdout) as { user: string; api_key: string };
  port = await freePort();
  mqttPort = await freePort();
  await startHub();
});

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
});

afterAll(async () => {
  await worker?.close();
  await hub?.stop();
  temp.remove();
});

describe("DpowClient", () => {
  it("serves many requests at once over one socket, each checked locally", async () => {
    const dpow = client();
    const hashes = Array.from({ length: 20 }, () => randomHash());
    const results = await Promise.all(
      hashes.map((hash, i) =>
        dpow.workGenerate(hash, i % 2 === 0 ? { multiplier: 2, timeout: 30 } : { timeout: 30 }),
      ),
    );
    results.forEach((result, i) => {
      expect(result.source).toBe("hub");
      const hash = hashes[i] as string;
      expectValid(result, hash, i % 2 === 0 ? parseU64("f800000000000000", "x2") : BASE);
    });
    // A lower-case hash is the same root.
    const lower = randomHash().toLowerCase();
    expectValid(await dpow.workGenerate(lower, { difficulty: TEST_DIFFICULTY }), lower.toUpperCase());
  });

  it("rejects with typed errors", async () => {
    const wrongKey = client({ apiKey: "not-the-key" });
    await expect(wrongKey.workGenerate(randomHash())).rejects.toBeInstanceOf(DpowCredentialsError);
    const dpow = client();
    await expect(dpow.workGenerate("abc")).rejects.toBeInstanceOf(DpowBadRequestError);
    const badAccount = await dpow
      .workGenerate(randomHash(), { account: "nano_nope" })
      .catch((e: unknown) => e);
    expect(badAccount).toBeInstanceOf(DpowBadRequestError);
    expect((badAccount as Error).message).toMatch(/account/i);
    const badTimeout = await dpow.workGenerate(randomHash(), { timeout: 99 }).catch((e: unknown) => e);
    expect(badTimeout).toBeInstanceOf(DpowBadRequestError);
    expect((badTimeout as Error).message).toMatch(/^Timeout must be|timeout must be/);
  });

  it("maps the hub's error texts (the original's and this project's) by how they begin", () => {
    expect(errorFromAnswer({ error: "Invalid credentials" })).toBeInstanceOf(DpowCredentialsError);
    expect(errorFromAnswer({ error: "Timeout reached without work", timeout: true })).toBeInstanceOf(
      DpowTimeoutError,
    );
    expect(errorFromAnswer({ error: "Timeout must be an integer between 1 and 30" })).toBeInstanceOf(
      DpowBadRequestError,
    );
    expect(errorFromAnswer({ error: "Difficulty too high. Maximum: ff ( 8 multiplier )" }).code).toBe(
      "bad_request",
    );
    expect(errorFromAnswer({ error: "Throttled: slow down" }).code).toBe("throttled");
    expect(errorFromAnswer({ error: "The hub is shutting down; retry in a moment" })).toBeInstanceOf(
      DpowUnavailableError,
    );
  });

  it("reconnects after a hub restart, and resends a request made while the hub was down", async () => {
    const dpow = client();
    const first = randomHash();
    expectValid(await dpow.workGenerate(first), first);
    await stopHub();
    const second = randomHash();
    const pending = dpow.workGenerate(second, { timeout: 20 });
    await startHub();
    const result = await pending;
    expect(result.source).toBe("hub");
    expectValid(result, second);
    const third = randomHash();
    expectValid(await dpow.workGenerate(third), third);

    // In flight when the hub stops (its answer is "shutting down"): sent again to the new hub.
    await worker?.close();
    worker = undefined;
    const fourth = randomHash();
    const inFlight = dpow.workGenerate(fourth, { timeout: 25 });
    await waitForMetric(hub, "dpow_waiting_requests", (n) => n === 1);
    await stopHub();
    await startHub();
    expectValid(await inFlight, fourth);
  });

  it("says the hub is unavailable when it cannot be reached", async () => {
    const dpow = client({ url: `http://127.0.0.1:${await freePort()}` });
    const failure = await dpow.workGenerate(randomHash(), { timeout: 1 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DpowUnavailableError);
    expect((failure as Error).message).toMatch(/unreachable/);
  });

  it("falls back to this machine's CPU when the hub is down", async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const dpow = client({ url: down, fallback: { afterMs: 50, threads: 1 } });
    const hash = randomHash();
    const result = await dpow.workGenerate(hash, { timeout: 1 });
    expect(result.source).toBe("local");
    expectValid(result, hash);

    // close() settles what still waits, fallback or not.
    const waiting = client({ url: down, fallback: { afterMs: 60_000, threads: 1 } });
    const never = waiting.workGenerate(randomHash(), { timeout: 30 });
    await waiting.close();
    await expect(never).rejects.toBeInstanceOf(DpowUnavailableError);
  });

  it("falls back when the hub is slow, but not when the credentials are wrong", async () => {
    await worker?.close();
    worker = undefined; // no worker: the hub cannot answer before its timeout
    const dpow = client({ fallback: { afterMs: 100, threads: 1 } });
    const hash = randomHash();
    const result = await dpow.workGenerate(hash, { timeout: 10 });
    expect(result.source).toBe("local");
    expectValid(result, hash);
    const wrong = client({ apiKey: "wrong", fallback: { afterMs: 60_000, threads: 1 } });
    await expect(wrong.workGenerate(randomHash())).rejects.toBeInstanceOf(DpowCredentialsError);
    await expect(client().workGenerate(randomHash(), { timeout: 1 })).rejects.toBeInstanceOf(
      DpowTimeoutError,
    );
    worker = await FakeWorker.connect(hub.mqttPort, WORKER);
  });

  it("never hands out work that fails the difficulty, whoever sent it", async () => {
    // A hub that answers every request with work that is not valid for it.
    const liar = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => liar.once("listening", resolve));
    liar.on("connection", (ws) =>
      ws.on("message", (data) => {
        const { id, hash } = JSON.parse(data.toString()) as { id: number; hash: string };
        // Work below the client's base for this very hash: a fixed nonce would pass 1 time in 16.
        const work = solveBelow(hash, BASE).toString(16).padStart(16, "0");
        ws.send(JSON.stringify({ id, hash, work, difficulty: "ffffffffffffffff" }));
      }),
    );
    try {
      const dpow = client({ url: `ws://127.0.0.1:${(liar.address() as AddressInfo).port}/service_ws/` });
      const failure = await dpow.workGenerate(randomHash()).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(DpowUnavailableError);
      expect((failure as Error).message).toMatch(/^the hub returned work that fails the difficulty/);
    } finally {
      liar.close();
    }
  });

  it("keeps at most maxInFlight unanswered on the socket, and adapts to a hub that allows fewer", async () => {
    // A hub that holds requests, answers them in batches with real work, and refuses beyond `limit`.
    const strictHub = async (limit: number) => {
      const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
      await new Promise((resolve) => server.once("listening", resolve));
      const seen = { maxHeld: 0, refused: 0 };
      server.on("connection", (ws) => {
        let held: Array<{ id: number; hash: string }> = [];
        let flush: NodeJS.Timeout | undefined;
        const answer = () => {
          clearTimeout(flush);
          for (const { id, hash } of held)
            ws.send(JSON.stringify({ id, hash, work: solve(hash, BASE).toString(16).padStart(16, "0") }));
          held = [];
        };
        ws.on("message", (data) => {
          const request = JSON.parse(data.toString()) as { id: number; hash: string };
          if (held.length >= limit) {
            seen.refused += 1;
            ws.send(
              JSON.stringify({
                id: request.id,
                error: `Too many requests in flight on this socket (at most ${limit})`,
              }),
            );
            return;
          }
          held.push(request);
          seen.maxHeld = Math.max(seen.maxHeld, held.length);
          clearTimeout(flush);
          flush = setTimeout(answer, 20); // the tail of a batch
        });
      });
      return {
        url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`,
        seen,
        close: () => server.close(),
      };
    };
    const capped = await strictHub(100);
    const strict = await strictHub(3);
    try {
      const hashes = Array.from({ length: 12 }, () => randomHash());
      const own = client({ url: capped.url, maxInFlight: 2 });
      for (const [i, result] of (await Promise.all(hashes.map((h) => own.workGenerate(h)))).entries()) {
        expectValid(result, hashes[i] as string);
      }
      expect(capped.seen.maxHeld).toBeLessThanOrEqual(2);
      expect(capped.seen.refused).toBe(0);
      const adapting = client({ url: strict.url, maxInFlight: 50 });
      for (const [i, result] of (await Promise.all(hashes.map((h) => adapting.workGenerate(h)))).entries()) {
        expectValid(result, hashes[i] as string);
      }
      expect(strict.seen.refused).toBeGreaterThan(0);
    } finally {
      capped.close();
      strict.close();
    }
  });

  it('is exported as "nano-dpow/client" from the built package', () => {
    const script =
      'import { DpowClient, DpowTimeoutError } from "nano-dpow/client"; console.log(typeof DpowClient, typeof DpowTimeoutError);';
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("function function");
  });
});
