import { type Command, Option } from "commander";
import { DpowClient } from "../../client/client.js";
import { DpowError } from "../../client/errors.js";
import { CodedError } from "../../errors.js";
import { SEND_THRESHOLD } from "../../nano/difficulty.js";
import { parseHash, parseU64 } from "../../nano/hex.js";
import { action, printJson, UsageError } from "../output.js";

interface RequestOptions {
  url: string;
  user: string;
  key: string;
  hash: string;
  difficulty?: string;
  multiplier?: string;
  timeout?: string;
  account?: string;
  base?: string;
  json?: boolean;
}

/** A malformed flag value is a usage error (exit 2), like every other flag here. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function request(opts: RequestOptions): Promise<void> {
  if (opts.difficulty !== undefined && opts.multiplier !== undefined) {
    throw new UsageError("give --difficulty or --multiplier, not both");
  }
  usage(() => parseHash(opts.hash, "--hash"));
  if (opts.difficulty !== undefined) usage(() => parseU64(opts.difficulty, "--difficulty"));
  const multiplier = opts.multiplier === undefined ? undefined : Number(opts.multiplier);
  if (multiplier !== undefined && !(Number.isFinite(multiplier) && multiplier > 0)) {
    throw new UsageError(`--multiplier must be a positive number, e.g. 1 or 0.125, got "${opts.multiplier}"`);
  }
  const timeout = opts.timeout === undefined ? undefined : Number(opts.timeout);
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 30)) {
    throw new UsageError(`--timeout must be a whole number of seconds from 1 to 30, got "${opts.timeout}"`);
  }
  if (!/^(https?|wss?):\/\/[^/\s]+/.test(opts.url)) {
    throw new UsageError(
      `--url must be the hub's http(s):// address, e.g. http://127.0.0.1:5030, got "${opts.url}"`,
    );
  }
  const base = opts.base === undefined ? SEND_THRESHOLD : usage(() => parseU64(opts.base, "--base"));
  const client = new DpowClient({ url: opts.url, user: opts.user, apiKey: opts.key, base });
  try {
    // The client checks the work against the difficulty asked for before it resolves.
    const result = await client.workGenerate(opts.hash, {
      difficulty: opts.difficulty,
      multiplier,
      timeout,
      account: opts.account,
    });
    if (opts.json) printJson({ work: result.work, hash: result.hash, difficulty: result.difficulty });
    else process.stdout.write(`${result.work}\n`);
  } catch (err) {
    if (!(err instanceof DpowError)) throw err;
    throw new CodedError("DPOW_REQUEST_FAILED", `request failed (${err.code}): ${err.message}`);
  } finally {
    await client.close();
  }
}

export function registerRequest(program: Command): Command {
  return program
    .command("request")
    .description(
      "ask a hub for work for one block hash, as a service does; the work is checked before it is printed",
    )
    .addOption(
      new Option("--url <url>", "the hub's address").env("DPOW_URL").default("http://127.0.0.1:5030"),
    )
    .addOption(new Option("--user <name>", "service name").env("DPOW_USER").makeOptionMandatory())
    .addOption(
      new Option(
        "--key <api_key>",
        "the service's API key (better from DPOW_API_KEY than on the command line)",
      )
        .env("DPOW_API_KEY")
        .makeOptionMandatory(),
    )
    .requiredOption("--hash <hash>", "block hash (root) to compute work for, 64 hex digits")
    .option("--difficulty <hex>", "threshold, 16 hex digits (default: the hub's base)")
    .option("--multiplier <x>", "threshold as a multiplier of the base, e.g. 1 or 0.125")
    .option("--timeout <s>", "seconds the hub may take, 1 to 30 (default 5)")
    .option("--account <address>", "the block's account (lets the hub precompute its next work)")
    .option(
      "--base <hex>",
      "the hub's send base, for --multiplier and the default (default fffffff800000000)",
    )
    .option("--json", 'print {"work", "hash", "difficulty"} instead of the work alone')
    .addHelpText(
      "after",
      "\nExit status: 0 with the work on stdout; 1 when the request failed (the hub refused, timed out or\ncould not be reached: one line on stderr says which) or a flag is missing; 2 for a malformed flag value.",
    )
    .action(action(request));
}
