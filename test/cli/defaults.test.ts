import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { hubOptions, type ServerOptions } from "../../src/cli/commands/server.js";
import { mqttSettings } from "../../src/cli/mqtt-flags.js";
import { addPenaltyFlags, penaltySettings } from "../../src/cli/penalty-flags.js";
import { durationText, parseDuration } from "../../src/cli/precache-flags.js";
import { BROKER_DEFAULTS } from "../../src/hub/broker/embedded.js";
import { DifficultyPolicy, POLICY_DEFAULTS } from "../../src/hub/difficulty-policy.js";
import { HUB_DEFAULTS } from "../../src/hub/hub.js";
import { MQTT_DEFAULTS } from "../../src/hub/launch.js";
import { SQLITE_LEDGER_DEFAULTS } from "../../src/hub/ledger/sqlite.js";
import { DEFAULT_PENALTIES } from "../../src/hub/worker-penalties.js";
import { SEND_THRESHOLD } from "../../src/nano/difficulty.js";

/** The flags of `dpow server` with nothing given: what the modules' DEFAULTS say, read back. */
function parsedDefaults(): ServerOptions {
  const command = addPenaltyFlags(hubOptions(new Command(), { logLevel: "info" })).exitOverride();
  command.parse([], { from: "user" });
  return command.opts<ServerOptions>();
}

describe("flag defaults", () => {
  it("are the modules' DEFAULTS, so a flag left out and an option left out mean the same", () => {
    const opts = parsedDefaults();
    expect(opts).toMatchObject({
      port: String(HUB_DEFAULTS.port),
      host: HUB_DEFAULTS.host,
      mqttPort: String(BROKER_DEFAULTS.mqttPort),
      db: SQLITE_LEDGER_DEFAULTS.file,
      sync: SQLITE_LEDGER_DEFAULTS.sync,
      maxMultiplier: String(POLICY_DEFAULTS.maxMultiplier),
    });
    if (process.env.DPOW_CLIENT_PASSWORD === undefined)
      expect(opts.clientPassword).toBe(BROKER_DEFAULTS.clientPassword);
    expect(mqttSettings(opts, opts.db)).toEqual({
      ...MQTT_DEFAULTS,
      sessionsFile: `${opts.db}.mqtt-sessions`,
    });
    expect(penaltySettings(opts as Parameters<typeof penaltySettings>[0])).toEqual(DEFAULT_PENALTIES);
  });

  it("write durations in the unit the flags read back", () => {
    for (const ms of [1000, 60_000, 90_000, 5 * 60_000, 86_400_000, 7 * 86_400_000]) {
      expect(parseDuration(durationText(ms), "--x")).toBe(ms);
    }
    expect(durationText(7 * 86_400_000)).toBe("7d");
    expect(durationText(90_000)).toBe("90s");
  });
});

describe("DifficultyPolicy", () => {
  it("refuses a maximum multiplier below 1 where it is given, not at the first request", () => {
    expect(() => new DifficultyPolicy(SEND_THRESHOLD, 0.5)).toThrow(
      /maxMultiplier must be a number >= 1, got 0.5/,
    );
    expect(new DifficultyPolicy(SEND_THRESHOLD, 1).outOfRange).toBe(POLICY_DEFAULTS.outOfRange);
  });
});
