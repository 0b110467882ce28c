/** `dpow request`: the real CLI against the real hub (spawned, with its local CPU worker). */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64 } from "../../src/nano/hex.js";
import { workValue } from "../../src/nano/work.js";
import { runCli } from "../helpers/cli.js";
import { randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, spawnHub, TEST_DIFFICULTY, tempDir } from "../helpers/hub-process.js";
import { freePort } from "../helpers/ports.js";

const BASE = parseU64(TEST_DIFFICULTY, "base");
const temp = tempDir();
let hub: HubProcess;
let key: string;

// runCli blocks this process while the CLI runs, so the worker must live in the hub's process.
beforeAll(async () => {
  const db = join(temp.dir, "hub.db");
  const added = runCli(["service", "add", "cli", "--rate", "0", "--db", db, "--json"]);
  expect(added.status, added.stderr).toBe(0);
  key = (JSON.parse(added.stdout) as { api_key: string }).api_key;
  hub = await spawnHub(db, ["--local-worker"]);
});

afterAll(async () => {
  await hub?.stop();
  temp.remove();
});

const request = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCli(["request", "--url", hub.url(""), "--user", "cli", "--base", TEST_DIFFICULTY, ...args], {
    env: { DPOW_API_KEY: key, ...env },
  });

describe("dpow request", () => {
  it("prints the work alone, valid for the hash", () => {
    const hash = randomHash();
    const result = request(["--hash", hash]);
    expect(result.status, result.stderr).toBe(0);
    const work = result.stdout.trim();
    expect(work).toMatch(/^[0-9a-f]{16}$/);
    expect(workValue(parseHash(hash), parseU64(work, "work")) >= BASE).toBe(true);
  });

  it("--json with --multiplier: work, hash and the difficulty it reaches", () => {
    const hash = randomHash();
    const result = request(["--hash", hash, "--multiplier", "2", "--timeout", "10", "--json"]);
    expect(result.status, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout) as { work: string; hash: string; difficulty: string };
    const value = workValue(parseHash(hash), parseU64(json.work, "work"));
    expect(json.hash).toBe(hash);
    expect(json.difficulty).toBe(value.toString(16).padStart(16, "0"));
    expect(value >= parseU64("f800000000000000", "x2")).toBe(true);
  });

  it("a refused request: exit 1 and one line saying why", () => {
    const result = request(["--hash", randomHash()], { DPOW_API_KEY: "wrong" });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^dpow: request failed \(credentials\): \S.*\n$/);
  });

  it("an unreachable hub: exit 1 and one line", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = runCli([
      "request",
      "--url",
      url,
      "--user",
      "x",
      "--key",
      "y",
      "--hash",
      randomHash(),
      "--timeout",
      "1",
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^dpow: request failed \(unavailable\): the hub at .* is unreachable: .*\n$/,
    );
  });

  it("malformed flags: exit 2 before anything connects", () => {
    const both = request(["--hash", randomHash(), "--difficulty", TEST_DIFFICULTY, "--multiplier", "1"]);
    expect(both.status).toBe(2);
    expect(both.stderr).toBe("dpow: give --difficulty or --multiplier, not both\n");
    const badHash = request(["--hash", "zz"]);
    expect(badHash.status).toBe(2);
    expect(badHash.stderr).toMatch(/^dpow: --hash must be exactly 64 hex digits/);
    const badTimeout = request(["--hash", randomHash(), "--timeout", "1.5"]);
    expect(badTimeout.status).toBe(2);
  });

  it("--help names the flags and the exit status", () => {
    const help = runCli(["request", "--help"]);
    expect(help.status).toBe(0);
    for (const flag of [
      "--url",
      "--user",
      "--key",
      "--hash",
      "--difficulty",
      "--multiplier",
      "--timeout",
      "--json",
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toContain("Exit status");
  });
});
