import type { Command } from "commander";
import { fromMultiplier, RECEIVE_THRESHOLD, SEND_THRESHOLD, toMultiplier } from "../../nano/difficulty.js";
import { formatU64, parseHash, parseU64 } from "../../nano/hex.js";
import { workValue } from "../../nano/work.js";
import { ENGINES, type Engine } from "../../pow/kernel.js";
import { WorkPool } from "../../pow/pool.js";
import { action, printJson, UsageError } from "../output.js";

interface ValidateOptions {
  hash: string;
  work: string;
  difficulty?: string;
  multiplier?: string;
  json?: boolean;
}

/** Parses --difficulty / --multiplier (mutually exclusive) into a threshold, or undefined if neither. */
function thresholdOption(opts: { difficulty?: string; multiplier?: string }): bigint | undefined {
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

export interface PoolFlags {
  threads?: string;
  engine?: string;
}

/** --threads: a whole number from 1 to 1024 (a typo like 5000 would stall the machine starting threads). */
export function parseThreads(text: string): number {
  const threads = Number(text);
  if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
    throw new UsageError(`--threads must be a whole number from 1 to 1024, got "${text}"`);
  }
  return threads;
}

/** Starts the CPU pool that --threads / --engine describe; failures become one-line errors. */
export async function startPool(opts: PoolFlags): Promise<WorkPool> {
  const threads = opts.threads === undefined ? undefined : parseThreads(opts.threads);
  const engine = (opts.engine ?? "auto") as Engine;
  if (!ENGINES.includes(engine)) {
    throw new UsageError(`--engine must be one of ${ENGINES.join(", ")}, got "${opts.engine}"`);
  }
  try {
    return await WorkPool.start({ engine, ...(threads === undefined ? {} : { threads }) });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

interface GenerateFlags extends PoolFlags {
  hash: string;
  difficulty?: string;
  multiplier?: string;
  json?: boolean;
}

async function generate(opts: GenerateFlags): Promise<void> {
  const root = parseHash(opts.hash, "--hash");
  const threshold = thresholdOption(opts) ?? SEND_THRESHOLD;
  const pool = await startPool(opts);
  try {
    const began = performance.now();
    const { work, value } = await pool.generate(root, threshold);
    const seconds = (performance.now() - began) / 1000;
    await pool.idle(); // every thread has reported its hash count
    if (!opts.json) {
      process.stdout.write(`${formatU64(work)}\n`);
      return;
    }
    printJson({
      work: formatU64(work),
      difficulty: formatU64(value),
      multiplier: String(toMultiplier(value, SEND_THRESHOLD)),
      seconds: Number(seconds.toFixed(3)),
      mhs: Number((pool.hashesDone / seconds / 1e6).toFixed(2)),
    });
  } finally {
    await pool.close();
  }
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
  work
    .command("generate")
    .description("compute work for a block hash on this machine's CPU (all cores by default)")
    .requiredOption("--hash <hash>", "block hash or root, 64 hex digits")
    .option("--difficulty <hex>", "threshold, 16 hex digits (default: the send threshold fffffff800000000)")
    .option("--multiplier <x>", "threshold as a multiplier of the send threshold")
    .option("--threads <n>", "worker threads (default: one per CPU core)")
    .option("--engine <engine>", "kernel: auto (native if built, else WASM), native or wasm", "auto")
    .option("--json", 'print {"work", "difficulty", "multiplier", "seconds", "mhs"}')
    .action(action(generate));
  return work;
}
