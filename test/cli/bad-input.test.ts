import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { DPOW_BIN, runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/ports.js";

/** Inputs a newcomer gets wrong: each is one line naming what to fix, a non-zero exit, no stack trace. */
const dir = mkdtempSync(join(tmpdir(), "dpow-bad-input-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEY = "718CC2121C3E641059BC1C2CFC45666C99E8AE922F7A807B7D07B62C995D79E2";
const ADDRESS = "nano_3t6k35gi95xu6tergt6p69ck76ogmitsa8mnijtpxm9fkcm736xtoncuohr3";
/** Free ports, so a command that wrongly got past the check would not collide with anything. */
const PORTS = ["--port", "0", "--mqtt-port", "0"];

function expectOneLine(r: ReturnType<typeof runCli>, pattern: RegExp): void {
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
}

describe("a --db file that cannot be opened", () => {
  const missing = join(dir, "no-such-dir", "dpow.db");
  const notDb = join(dir, "not-a-database.txt");
  writeFileSync(notDb, "hello\n".repeat(100));

  it.each([
    ["service", "list", "--db", missing],
    ["payouts", "history", "--db", missing],
    ["server", ...PORTS, "--db", missing],
    ["start", ...PORTS, "--db", missing],
  ])("dpow %s %s: names the file and --db", (...args) => {
    expectOneLine(
      runCli(args),
      /^dpow: cannot open the SQLite file .*no-such-dir.* \(.*directory does not exist\); fix --db.*\n$/,
    );
  });

  it("a file that is not a database", () => {
    expectOneLine(
      runCli(["service", "add", "wallet", "--db", notDb]),
      /^dpow: cannot open the SQLite file .*not-a-database\.txt \(file is not a database\); fix --db/,
    );
  });
});

describe("dpow server / start flags", () => {
  it("an unknown --log-level lists the levels", () => {
    for (const command of ["server", "start"]) {
      expectOneLine(
        runCli([command, ...PORTS, "--db", join(dir, "log.db"), "--log-level", "loud"]),
        /argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace/,
      );
    }
  });

  it("--server-password with --mqtt-url: the password belongs in the URL", () => {
    expectOneLine(
      runCli([
        "server",
        ...PORTS,
        "--db",
        join(dir, "server-password.db"),
        "--server-password",
        "secret",
        "--mqtt-url",
        "mqtt://dpowserver:other@127.0.0.1:1",
      ]),
      /^dpow: --server-password is for the embedded broker; with --mqtt-url the dpowserver password is in the URL\n$/,
    );
  });

  it("a --host that is not this machine's names --host", () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address.
    expectOneLine(
      runCli(["server", ...PORTS, "--db", join(dir, "host.db"), "--host", "192.0.2.1"]),
      /^dpow: cannot listen on --host 192\.0\.2\.1 \(EADDRNOTAVAIL\): give an address of this machine/,
    );
  });

  it.each([
    ["--fanout", "-1", /^dpow: --fanout must be a whole number >= 0, got "-1"/],
    ["--fanout-escalate-ms", "0", /^dpow: --fanout-escalate-ms must be a whole number >= 1, got "0"/],
  ])("a bad %s (%s) names the flag", (flag, value, message) => {
    expectOneLine(runCli(["server", ...PORTS, "--db", join(dir, "fanout.db"), flag, value]), message);
  });

  it.each([
    ["server", "--mqtt-url", "localhost:1883", /mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//],
    ["server", "--redis", "127.0.0.1:6379", /redis:\/\/ or rediss:\/\//],
    ["server", "--postgres", "notaurl", /postgres:\/\/ or postgresql:\/\//],
    ["service", "--postgres", "notaurl", /postgres:\/\/ or postgresql:\/\//],
  ])("dpow %s: a malformed %s URL (%s) names the flag and the schemes", (command, flag, url, schemes) => {
    const args =
      command === "server" ? ["server", ...PORTS, "--db", join(dir, "url.db")] : ["service", "list"];
    const r = runCli([...args, flag, url]);
    expectOneLine(r, new RegExp(`^dpow: ${flag} must be a URL starting with .*; got "${url}"\n$`));
    expect(r.stderr).toMatch(schemes);
  });

  it("a URL with a password is not echoed back", () => {
    const r = runCli(["server", ...PORTS, "--db", join(dir, "url.db"), "--postgres", "dpow:s3cret@db/dpow"]);
    expectOneLine(r, /^dpow: --postgres must be a URL starting with postgres:\/\//);
    expect(r.stderr).not.toContain("s3cret");
  });

  it("an --mqtt-url where nothing listens fails at once, not after the connect timeout", async () => {
    const url = `mqtt://dpowserver:pw@127.0.0.1:${await freePort()}`;
    expectOneLine(
      runCli(["server", ...PORTS, "--db", join(dir, "refused.db"), "--mqtt-url", url]),
      /^dpow: cannot connect to the MQTT broker at mqtt:\/\/dpowserver:\*\*\*@127\.0\.0\.1:\d+: connection refused .*; start it or fix --mqtt-url\n$/,
    );
  });

  it.each([
    ["--frontier-limit", "5"],
    ["--frontier-ttl", "1d"],
    ["--node-ws", "ws://127.0.0.1:7078"],
    ["--precache-difficulty", "fffffff800000000"],
  ])("%s without --precache is refused, not ignored", (flag, value) => {
    expectOneLine(
      runCli(["server", ...PORTS, "--db", join(dir, "precache.db"), flag, value]),
      new RegExp(`^dpow: ${flag} only works with --precache: add --precache \\(or drop ${flag}\\)\n$`),
    );
  });
});

describe("dpow server --precache", () => {
  it("says at the default log level that --node-ws does not answer, and keeps running", async () => {
    const url = `ws://127.0.0.1:${await freePort()}`;
    const args = ["server", ...PORTS, "--db", join(dir, "feed.db"), "--precache", "--node-ws", url];
    const child = spawn(process.execPath, [DPOW_BIN, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      const warning = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no warning about --node-ws within 15 s")), 15_000);
        createInterface({ input: child.stdout }).on("line", (line) => {
          if (!line.includes("node's WebSocket")) return;
          clearTimeout(timer);
          resolve(line);
        });
      });
      expect(JSON.parse(warning)).toMatchObject({
        level: 40,
        msg: expect.stringMatching(
          /^cannot reach the node's WebSocket at ws:\/\/127\.0\.0\.1:\d+\/? \(.*ECONNREFUSED.*check --node-ws/,
        ),
      });
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});

describe("other commands", () => {
  it("address from-key refuses a prefix other than nano or xrb", () => {
    expectOneLine(
      runCli(["address", "from-key", KEY, "--prefix", "btc"]),
      /argument 'btc' is invalid\. Allowed choices are nano, xrb/,
    );
  });

  it("payouts plan with an unreachable node names --node and does not talk of resuming payments", async () => {
    const r = runCli([
      "payouts",
      "plan",
      "--db",
      join(dir, "plan.db"),
      "--fraction",
      "0.5",
      "--node",
      `http://127.0.0.1:${await freePort()}`,
      "--account",
      ADDRESS,
    ]);
    expectOneLine(r, /^dpow: no answer from the node .*Check --node; then run the same command again\n$/);
  });

  it("payouts plan refuses a bad --fraction before asking the node", async () => {
    // Nothing listens on --node: had the balance been asked first, the error would be about the node.
    const node = `http://127.0.0.1:${await freePort()}`;
    const args = ["payouts", "plan", "--db", join(dir, "plan.db"), "--node", node, "--account", ADDRESS];
    expectOneLine(
      runCli([...args, "--fraction", "2"]),
      /^dpow: --fraction must be above 0 and at most 1, got 2\n$/,
    );
  });
});

describe("a flag commander itself refuses", () => {
  it("ends with the catalogue's usage exit code (2), like every other bad flag", () => {
    const unknown = runCli(["address", "check", "nano_1", "--no-such-flag"]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/^dpow: unknown option '--no-such-flag'/);
    expect(runCli(["address", "check"]).status).toBe(2); // a missing argument
    expect(runCli(["--version"]).status).toBe(0);
  });
});
