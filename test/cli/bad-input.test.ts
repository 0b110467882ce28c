import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
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

  it("a --host that is not this machine's names --host", () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address.
    expectOneLine(
      runCli(["server", ...PORTS, "--db", join(dir, "host.db"), "--host", "192.0.2.1"]),
      /^dpow: cannot listen on --host 192\.0\.2\.1 \(EADDRNOTAVAIL\): give an address of this machine/,
    );
  });

  it("a malformed --mqtt-url names --mqtt-url", () => {
    expectOneLine(
      runCli(["server", ...PORTS, "--db", join(dir, "mqtt.db"), "--mqtt-url", "localhost:1883"]),
      /^dpow: MQTT broker URL must look like mqtt:\/\/dpowserver:PASSWORD@host:1883.*; fix --mqtt-url\n$/,
    );
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
});
