import type { Command } from "commander";
import { fromMultiplier, RECEIVE_THRESHOLD, SEND_THRESHOLD, toMultiplier } from "../../nano/difficulty.js";
import { formatU64, parseHash, parseU64 } from "../../nano/hex.js";
import { workValue } from "../../nano/work.js";
import { action, printJson, UsageError } from "../output.js";

interface ValidateOptions {
  hash: string;
  work: string;
  difficulty?: string;
  multiplier?: string;
  json?: boolean;
}

/** Parses --difficulty / --multiplier (mutually exclusive) into a threshold, or undefined if neither. */
export function thresholdOption(opts: { difficulty?: string; multiplier?: string }): bigint | undefined {
  if (opts.difficulty !== undefined && opts.multiplier !== undefined) {
    throw new UsageError("give --difficulty or --multiplier, not both");
  }
  if (opts.difficulty !== undefined) return parseU64(opts.difficulty, "--difficulty");
  if (opts.multiplier !== undefined) {
    const m = Number(opts.multiplier);
    if (!Number.isFinite(m) || m <= 0)
      throw new UsageError("--multiplier must be a positive number, e.g. 1 or 0.125");
    return fromMultiplier(m, SEND_THRESHOLD);
  }
  return undefined;
}

function validate(opts: ValidateOptions): void {
  const root = parseHash(opts.hash, "--hash");
  const work = parseU64(opts.work, "--work");
  const threshold = thresholdOption(opts);
  const value = workValue(root, work);
  const result: Record<string, string> = {
    ...(threshold === undefined ? {} : { valid: value >= threshold ? "1" : "0" }),
    valid_all: value >= SEND_THRESHOLD ? "1" : "0",
    valid_receive: value >= RECEIVE_THRESHOLD ? "1" : "0",
    difficulty: formatU64(value),
    multiplier: String(toMultiplier(value, SEND_THRESHOLD)),
  };
  if (result.valid === "0") process.exitCode = 1;
  if (opts.json) {
    printJson(result);
    return;
  }
  const yes = (flag: string | undefined) => (flag === "1" ? "yes" : "no");
  const lines = [
    `difficulty     ${result.difficulty} (multiplier ${result.multiplier} of the send threshold)`,
    `valid for send ${yes(result.valid_all)}`,
    `valid receive  ${yes(result.valid_receive)}`,
  ];
  if (threshold !== undefined) lines.push(`valid at ${formatU64(threshold)}: ${yes(result.valid)}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function registerWork(program: Command): Command {
  const work = program.command("work").description("compute and check Nano proof of work");
  work
    .command("validate")
    .description("check work for a block hash, like the node's work_validate RPC")
    .requiredOption("--hash <hash>", "block hash or root, 64 hex digits")
    .requiredOption("--work <work>", "work, 16 hex digits")
    .option("--difficulty <hex>", "threshold to check against, 16 hex digits")
    .option("--multiplier <x>", "threshold as a multiplier of the send threshold")
    .option("--json", "print the node's work_validate fields as JSON")
    .action(action(validate));
  return work;
}
