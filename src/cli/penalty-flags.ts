import type { Command } from "commander";
import { DEFAULT_PENALTIES, type PenaltyOptions } from "../hub/worker-penalties.js";
import { UsageError } from "./output.js";
import { durationText, parseDuration } from "./precache-flags.js";

export interface PenaltyFlags {
  penaltyThreshold: string;
  penaltyWindow: string;
  penaltyCoolDown: string;
}

/** The flags of `dpow server` for invalid results (charged to the MQTT connection that sent them). */
export function addPenaltyFlags(command: Command): Command {
  return command
    .option(
      "--penalty-threshold <n>",
      "invalid results one MQTT connection may send within --penalty-window before it is dropped",
      String(DEFAULT_PENALTIES.threshold),
    )
    .option(
      "--penalty-window <duration>",
      "window of --penalty-threshold",
      durationText(DEFAULT_PENALTIES.windowMs),
    )
    .option(
      "--penalty-cool-down <duration>",
      "how long a dropped connection's client id is refused from its address",
      durationText(DEFAULT_PENALTIES.coolDownMs),
    );
}

export function penaltySettings(flags: PenaltyFlags): PenaltyOptions {
  const threshold = Number(flags.penaltyThreshold);
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new UsageError(`--penalty-threshold must be a whole number >= 1, got "${flags.penaltyThreshold}"`);
  }
  return {
    threshold,
    windowMs: parseDuration(flags.penaltyWindow, "--penalty-window"),
    coolDownMs: parseDuration(flags.penaltyCoolDown, "--penalty-cool-down"),
  };
}
