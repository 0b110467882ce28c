/**
 * `dpow worker` as a volunteer runs it (the built CLI, `npm run build` first), with this test acting
 * as the hub on the embedded broker.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/hub-process.js";
import { EASY, IMPOSSIBLE, newPayout, randomHash, TestHub } from "./helpers.js";
import { DpowProcess } from "./process.js";

describe("dpow worker: arguments", () => {
  it("refuses a bad payout address with the reason", () => {
    const good = newPayout();
    const bad = `${good.slice(0, -1)}${good.endsWith("1") ? "3" : "1"}`;
    const result = runCli(["worker", "--payout", bad, "--no-benchmark"]);
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/--payout is not a valid Nano address: .*checksum/);
  });

  it("refuses a bad server URL, work type or thread count, naming the flag", () => {
    const payout = newPayout();
    const cases: [string[], RegExp][] = [
      [["--server", "127.0.0.1:1883"], /--server must be an MQTT URL/],
      [["--work", "all"], /--work must be one of any, ondemand, precache/],
      [["--threads", "0"], /--threads must be a whole number from 1 to 1024/],
      [["--threads", "5000"], /--threads must be a whole number from 1 to 1024, got "5000"/],
      [["--backend", "gpu"], /unknown work backend "gpu"/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(["worker", "--payout", payout, "--no-benchmark", ...args]);
      expect(result.status, `${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });

  it("documents every option in --help", () => {
    const { stdout, status } = runCli(["worker", "--help"]);
    expect(status).toBe(0);
    for (const flag of [
      "--payout",
      "--server",
      "--work",
      "--backend",
      "--threads",
      "--json-logs",
      "--no-benchmark",
    ]) {
      expect(stdout).toContain(flag);
    }
  });
});

describe("dpow worker: process lifecycle", () => {
  let broker: EmbeddedBroker;
  let hub: TestHub;
  const processes: DpowProcess[] = [];

  // The workers' stable client ids live in a config folder of the test's own, not the user's.
  const config = tempDir();

  function worker(payout: string, ...extra: string[]): DpowProcess {
    const proc = DpowProcess.start(
      [
        "worker",
        "--payout",
        payout,
        "--server",
        `mqtt://client:client@127.0.0.1:${broker.port}`,
        "--threads",
        "1",
        ...extra,
      ],
      { XDG_CONFIG_HOME: config.dir },
    );
    processes.push(proc);
    return proc;
  }

  beforeAll(async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1", serverPassword: "hub-secret" });
    hub = await TestHub.connect(`mqtt://127.0.0.1:${broker.port}`, "hub-secret");
    hub.startHeartbeat();
  });
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });
  afterAll(async () => {
    await hub?.close();
    await broker?.close();
    config.remove();
  });

  it("benchmarks, solves jobs, and exits cleanly on SIGTERM in the middle of a job", async () => {
    const payout = newPayout();
    const proc = worker(payout);
    await proc.waitForLine(
      /benchmark: cpu .* hashes at ~[\d.]+ [kMG]?H\/s; expected time per job: .* at the send difficulty/,
    );
    await proc.waitForLine(/hub is online/);
    const easy = randomHash();
    await hub.work("ondemand", easy, EASY);
    // The benchmark's rate tells what a job at the hub's difficulty costs, before any job is solved.
    await proc.waitForLine(/hub difficulty ffc0000000000000: expected ~.+ per job at ~[\d.]+ [kMG]?H\/s/);
    expect((await hub.result(easy, EASY)).address).toBe(payout);
    await proc.waitForLine(/solved ondemand .* result sent/);

    const stuck = randomHash();
    await hub.work("precache", stuck, IMPOSSIBLE);
    await proc.waitForLine(new RegExp(`working on precache ${stuck.slice(0, 10)}`));
    proc.kill("SIGTERM");
    expect(await proc.exited).toEqual({ code: 0, signal: null });
    expect(proc.output()).toMatch(/SIGTERM: stopping[\s\S]*worker stopped/);
  });

  it("keeps retrying a broker that refuses its password, saying what to check", async () => {
    const proc = DpowProcess.start([
      "worker",
      "--payout",
      newPayout(),
      "--server",
      `mqtt://client:wrong@127.0.0.1:${broker.port}`,
      "--no-benchmark",
    ]);
    processes.push(proc);
    await proc.waitForLine(
      /lost or refused \(.*password.*\) \(check the user name and password in --server\); retrying in 1\.0 s/,
    );
    await proc.waitForLine(/check the user name and password in --server\); retrying in 2\.0 s/);
    expect(proc.output()).not.toContain(":wrong@");
  });

  it("logs JSON lines with --json-logs", async () => {
    const proc = worker(newPayout(), "--json-logs", "--no-benchmark");
    const line = await proc.waitForLine(/hub is online/);
    expect(JSON.parse(line)).toMatchObject({
      level: 30,
      msg: expect.stringMatching(/^hub is online/),
      queued: 0,
    });
  });

  it("killed mid-job, leaves the broker and hub fine: a restarted worker solves the next jobs", async () => {
    const payout = newPayout();
    const first = worker(payout, "--no-benchmark");
    await first.waitForLine(/hub is online/);
    const stuck = randomHash();
    await hub.work("ondemand", stuck, IMPOSSIBLE);
    await first.waitForLine(/working on ondemand/);
    first.kill("SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");

    // The same payout address on the same machine: the same client id, so the broker session (and
    // the unfinished job, if its delivery was not acknowledged before the kill) carries over. If it
    // comes back, the hub cancels it, as it would once someone wins it.
    const second = worker(payout, "--no-benchmark");
    second
      .waitForLine(new RegExp(`working on ondemand ${stuck.slice(0, 10)}`), 1, 60_000)
      .then(() => hub.cancel("ondemand", stuck))
      .catch(() => {});
    await second.waitForLine(/hub is online/);
    const next = randomHash();
    await hub.work("ondemand", next, EASY);
    expect((await hub.result(next, EASY)).address).toBe(payout);
    expect(hub.results.map((r) => r.hash)).not.toContain(stuck);
  });
});
