/**
 * The HTTP front's per-client limits and answer statuses, against the spawned `dpow server` with
 * small limits set by its flags, and no worker (so requests wait until their timeout).
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runCli } from "../helpers/cli.js";
import { randomHash } from "../helpers/fake-worker.js";
import {
  type HubProcess,
  postWork,
  serverArgs,
  spawnHub,
  tempDir,
  waitForValue,
} from "../helpers/hub-process.js";
import { addService, openTcp } from "../helpers/service-clients.js";

const temp = tempDir();
const db = join(temp.dir, "hub.db");
let hub: HubProcess;
let svc: { user: string; api_key: string };

const LIMITS = [
  ["--ws-max-in-flight", "3"],
  ["--ws-max-bad-credentials", "3"],
  ["--max-connections-per-ip", "20"],
  ["--headers-timeout", "1"],
  ["--request-timeout", "2"],
  ["--body-idle-timeout", "1"],
].flat();

beforeAll(async () => {
  svc = addService(db, "limits", "--rate", "0");
  hub = await spawnHub(db, LIMITS);
});

afterAll(async () => {
  await hub?.stop();
  temp.remove();
});

async function openWs(): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${hub.httpPort}/service_ws/`);
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  return ws;
}

/** The next `n` answers on `ws`, parsed. */
function answers(ws: WebSocket, n: number): Promise<Array<Record<string, unknown>>> {
  const got: Array<Record<string, unknown>> = [];
  return new Promise((resolve) => {
    const take = (data: WebSocket.RawData) => {
      got.push(JSON.parse(data.toString()) as Record<string, unknown>);
      if (got.length < n) return;
      ws.off("message", take);
      resolve(got);
    };
    ws.on("message", take);
  });
}

describe("a client that throws on any status but 2xx (as NanoRPCProxy does)", () => {
  /** fetch, throw unless res.ok, then read the JSON: what NanoRPCProxy does with a work source. */
  async function proxyFetch(body: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(hub.url("/service/"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  it("sees every error text, each beginning with the original's, and the timeout flag", async () => {
    const hash = randomHash();
    const cases: Array<[unknown, string]> = [
      [{ user: "x", hash }, "Incorrect submission. Required information: user, api_key, hash"],
      [{ ...svc, api_key: "wrong", hash }, "Invalid credentials"],
      [{ ...svc, hash: "zz" }, "Invalid hash"],
      [{ ...svc, hash, account: "nano_1" }, "Invalid account"],
      [{ ...svc, hash, difficulty: "xyz" }, "Invalid difficulty"],
      [{ ...svc, hash, multiplier: "lots" }, "Multiplier must be a float"],
      [{ ...svc, hash, multiplier: 100 }, "Difficulty too high. Maximum: "],
      [{ ...svc, hash, timeout: 31 }, "Timeout must be an integer between 1 and 30"],
      ["{not json", "Bad request (not json)"],
      [{ ...svc, hash, id: "x".repeat(300) }, "Invalid id"],
      [JSON.stringify({ ...svc, hash, pad: "x".repeat(5000) }), "Request too large"],
    ];
    for (const [body, text] of cases) {
      const answer = await proxyFetch(body);
      expect(String(answer.error).startsWith(text), `${JSON.stringify(answer)} starts with ${text}`).toBe(
        true,
      );
    }
    // Waiting 3 s for work is not a slow request: --request-timeout (2 s) covers receiving it only.
    expect(await proxyFetch({ ...svc, hash, timeout: 3, id: 0 })).toEqual({
      error: expect.stringMatching(/^Timeout reached without work: /),
      timeout: true,
      id: 0,
    });
  });
});

describe("service WebSocket limits", () => {
  it("refuses requests past the in-flight cap with an error carrying their id, and serves again after", async () => {
    const ws = await openWs();
    const next = answers(ws, 4);
    for (let id = 1; id <= 4; id++) ws.send(JSON.stringify({ ...svc, hash: randomHash(), timeout: 1, id }));
    const got = await next;
    // The refusal is immediate; the three taken in time out after a second.
    expect(got[0]).toEqual({
      error: expect.stringMatching(/^Too many requests in flight .*at most 3/),
      id: 4,
    });
    expect(got.slice(1).map((a) => [a.id, a.timeout])).toEqual(
      expect.arrayContaining([
        [1, true],
        [2, true],
        [3, true],
      ]),
    );
    const after = answers(ws, 1);
    ws.send(JSON.stringify({ ...svc, hash: "00", id: 5 }));
    expect((await after)[0]).toMatchObject({ id: 5, error: expect.stringMatching(/^Invalid hash/) });
    ws.close();
  });

  it("closes a socket after repeated invalid credentials, with code 1008 and the reason", async () => {
    const ws = await openWs();
    const closed = new Promise<[number, string]>((resolve) =>
      ws.once("close", (code, reason) => resolve([code, reason.toString()])),
    );
    const got = answers(ws, 3);
    for (let i = 0; i < 3; i++)
      ws.send(JSON.stringify({ ...svc, api_key: "wrong", hash: randomHash(), id: i }));
    expect((await got).map((a) => a.error)).toEqual(
      Array(3).fill(expect.stringMatching(/^Invalid credentials/)),
    );
    expect(await closed).toEqual([1008, "too many requests with invalid credentials"]);
  });
});

describe("HTTP connection limits", () => {
  it("closes connections past the per-address cap at once, and takes new ones when others close", async () => {
    /** Opens a connection and asks /upcheck/ on it: whether the hub served it (else it was closed). */
    const probe = async () => {
      const connection = await openTcp(hub.httpPort);
      const served = await new Promise<boolean>((resolve) => {
        connection.socket.once("data", () => resolve(true));
        connection.closed.then(() => resolve(false));
        connection.socket.write("GET /upcheck/ HTTP/1.1\r\nHost: x\r\n\r\n");
      });
      return { connection, served };
    };
    const held: Array<Awaited<ReturnType<typeof openTcp>>> = [];
    /** Served and not closed by the hub: on a stalled machine its keep-alive timeout (5 s) may close some. */
    const open = new Set<(typeof held)[number]>();
    let refused = false;
    // Earlier tests' keep-alive connections may still count: at most 20 in all are served.
    for (let probes = 0; probes < 200 && !refused; probes++) {
      const { connection, served } = await probe();
      if (!served) {
        refused = true;
        break;
      }
      held.push(connection);
      open.add(connection);
      void connection.closed.then(() => open.delete(connection));
    }
    expect(refused).toBe(true);
    expect(open.size).toBeLessThanOrEqual(20);
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map((c) => c.closed));
    // Our side has closed, but the hub frees a slot only once it sees the close, a moment later:
    // probe until it serves again (a refused probe is closed at once and holds no slot).
    const servedAgain = async () => {
      const { connection, served } = await probe();
      connection.socket.destroy();
      return served ? 1 : 0;
    };
    await waitForValue("a connection served after the others closed", servedAgain, (v) => v === 1);
  });

  it("cuts a stalled body and trickled headers", async () => {
    const body = await openTcp(hub.httpPort);
    body.socket.write("POST /service/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{");
    const headers = await openTcp(hub.httpPort);
    headers.socket.write("POST /service/ HTTP/1.1\r\nHost: x\r\n");
    const trickle = setInterval(() => headers.socket.write("X-A: b\r\n"), 200);
    try {
      await Promise.all([body.closed, headers.closed]);
    } finally {
      clearInterval(trickle);
    }
  });
});

describe("--http-status codes", () => {
  it("keeps the REST statuses for those who want them", async () => {
    const other = tempDir();
    const codesDb = join(other.dir, "hub.db");
    const key = addService(codesDb, "codes", "--rate", "0");
    const codes = await spawnHub(codesDb, ["--http-status", "codes"]);
    try {
      const statuses = [];
      for (const body of [
        "{nope",
        { ...key, api_key: "wrong", hash: randomHash() },
        { ...key, hash: randomHash(), timeout: 1 },
      ]) {
        statuses.push((await postWork(codes, body)).status);
      }
      expect(statuses).toEqual([400, 401, 504]);
    } finally {
      await codes.stop();
      other.remove();
    }
  });

  it("refuses a headers timeout longer than the request timeout, naming the flags", () => {
    const result = runCli(serverArgs(db, ["--headers-timeout", "20", "--request-timeout", "10"]));
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^dpow: --headers-timeout must not exceed --request-timeout/);
  });
});
