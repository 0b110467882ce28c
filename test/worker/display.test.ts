import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { SEND_THRESHOLD } from "../../src/nano/index.js";
import { benchmark, expectedSeconds } from "../../src/pow/benchmark.js";
import { createBackend } from "../../src/pow/create-backend.js";
import { parseFeedback } from "../../src/protocol/feedback.js";
import { formatDuration, formatHashRate, hubDifficultyNote } from "../../src/protocol/format.js";
import { formatStatusLine, StatusLine } from "../../src/worker/display.js";
import type { WorkerStatus } from "../../src/worker/index.js";

const idle: WorkerStatus = {
  connection: "connected",
  hubOnline: true,
  queued: 0,
  active: null,
  done: 0,
  accepted: 0,
  cancelled: 0,
  failed: 0,
  credits: null,
  share: null,
  hubError: null,
  lastReward: null,
  hashRate: null,
  hubDifficulty: null,
};

describe("what a volunteer sees", () => {
  it("formats rates and durations for people", () => {
    expect(formatHashRate(950)).toBe("950.0 H/s");
    expect(formatHashRate(25_300_000)).toBe("25.3 MH/s");
    expect(formatHashRate(4.2e9)).toBe("4.20 GH/s");
    expect(formatDuration(0.0021)).toBe("2 ms");
    expect(formatDuration(0.0001)).toBe("<1 ms");
    expect(formatDuration(21.4)).toBe("21 s");
    expect(formatDuration(600)).toBe("10 min");
    expect(formatDuration(3 * 3600)).toBe("3.0 h");
  });

  it("summarises the worker in one status line", () => {
    const now = 1_000_000;
    const busy: WorkerStatus = {
      ...idle,
      queued: 2,
      active: { hash: "ABCDEF12".repeat(8), type: "ondemand" },
      done: 5,
      accepted: 4,
      cancelled: 1,
      credits: { precache: 1, ondemand: 3 },
      share: 0.0425,
      lastReward: { hash: "00".repeat(32), at: now - 12_000 },
      hashRate: 25_300_000,
      hubDifficulty: 0xfffffe0000000000n,
    };
    expect(formatStatusLine(busy, now)).toBe(
      "hub online | ~25.3 MH/s | done 5 | accepted 4 | cancelled 1 | credits 3 on-demand/1 precache | share 4.25% | last reward 12 s ago | queue 2 | working on ABCDEF12… (ondemand) | difficulty fffffe0000000000",
    );
    expect(formatStatusLine({ ...idle, hubOnline: false }, now)).toMatch(
      /^hub OFFLINE \(no heartbeat\) \| rate \?/,
    );
    expect(formatStatusLine({ ...idle, connection: "reconnecting" }, now)).toMatch(
      /^broker offline, reconnecting/,
    );
  });

  it("prints log lines above the status line and redraws it, never wider than the terminal", () => {
    let written = "";
    const out = new Writable({
      write(chunk, _encoding, done) {
        written += chunk.toString();
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    out.columns = 40;
    const line = new StatusLine(out);
    line.update("x".repeat(100));
    line.log.info({}, "hello");
    const status = `${"x".repeat(38)}…`;
    const clear = "\r\x1b[2K";
    const [drawn, logged, redrawn] = written.split(clear).slice(1);
    expect(drawn).toBe(status);
    expect(logged).toMatch(/^\S+ INFO {2}hello\n/);
    expect(logged?.endsWith(`\n${status}`)).toBe(true);
    expect(redrawn).toBeUndefined();
  });

  it("reads the hub's feedback and refuses what it does not understand", () => {
    const read = (value: unknown) =>
      parseFeedback(Buffer.from(typeof value === "string" ? value : JSON.stringify(value)));
    expect(read({ precache: 1, ondemand: "2", block_rewarded: "ab".repeat(32) })).toEqual({
      kind: "credits",
      precache: 1,
      ondemand: 2,
      blockRewarded: "AB".repeat(32),
    });
    expect(read({ precache: 3, ondemand: 4, snapshot_precache: 1, snapshot_ondemand: 2 })).toMatchObject({
      snapshot: { precache: 1, ondemand: 2 },
    });
    expect(read({ precache: 3, ondemand: 4, share: 0.25 })).toMatchObject({ share: 0.25 });
    expect(read({ precache: 3, ondemand: 4, share: 1.5 }).kind).toBe("invalid");
    expect(read({ error: "Work below difficulty" })).toEqual({
      kind: "error",
      error: "Work below difficulty",
    });
    expect(read("{not json")).toEqual({ kind: "invalid", reason: "not JSON" });
    expect(read({ precache: -1, ondemand: 0 }).kind).toBe("invalid");
    expect(read("x".repeat(5000))).toEqual({ kind: "invalid", reason: "message too long" });
  });
});

describe("start-up benchmark", () => {
  const backend = createBackend("cpu", { threads: 1 });
  afterAll(async () => (await backend).close());

  it("measures the backend and extrapolates the time per job", async () => {
    const result = await benchmark(await backend, 200);
    expect(result.jobs).toBeGreaterThanOrEqual(1);
    expect(result.hashRate).toBeGreaterThan(0);
    // 2^29 expected hashes at the send threshold: one second at 2^29 H/s.
    expect(expectedSeconds(SEND_THRESHOLD, 2 ** 29)).toBe(1);
  });

  it("says what a job at the hub's difficulty costs, or that the speed is not known yet", () => {
    expect(hubDifficultyNote(SEND_THRESHOLD, 2 ** 29)).toBe(
      "hub difficulty fffffff800000000: expected ~1.0 s per job at ~536.9 MH/s",
    );
    expect(hubDifficultyNote(SEND_THRESHOLD, null)).toBe(
      "hub difficulty fffffff800000000: expected time per job unknown until this backend's speed is measured",
    );
  });
});
