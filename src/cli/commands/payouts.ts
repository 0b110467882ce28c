import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { CodedError } from "../../errors.js";
import { connectExternalBroker } from "../../hub/broker/mqtt-client.js";
import { addressError } from "../../nano/account.js";
import { parseRaw } from "../../nano/block.js";
import { SEND_THRESHOLD } from "../../nano/difficulty.js";
import { formatU64, hexToBytes, parseU64 } from "../../nano/hex.js";
import { applyFraction, formatNano, parseFraction } from "../../payouts/amount.js";
import { KeyPayer } from "../../payouts/key-payer.js";
import { NodeRpc, NodeRpcError, NodeUnreachableError } from "../../payouts/node-rpc.js";
import { publishSnapshots } from "../../payouts/notify.js";
import { InsufficientBalanceError, type Payer } from "../../payouts/payer.js";
import { buildPlan, planTotal } from "../../payouts/plan.js";
import { planDocument, planIdFrom, writePlanFile } from "../../payouts/plan-file.js";
import {
  PayoutStateError,
  type PayoutStore,
  type Plan,
  type StoredItem,
  type StoredPlan,
} from "../../payouts/ports.js";
import { PostgresPayoutStore } from "../../payouts/postgres-store.js";
import { type RunSummary, runPlan } from "../../payouts/run.js";
import { SqlitePayoutStore } from "../../payouts/sqlite-store.js";
import { WalletPayer } from "../../payouts/wallet-payer.js";
import { formatWeight } from "../../payouts/weights.js";
import { createBackend } from "../../pow/create-backend.js";
import { ledgerOptions } from "../ledger-flags.js";
import { action, printJson, UsageError } from "../output.js";
import { checkUrlFlag } from "../url-flags.js";
import { parseThreads } from "./work.js";

const RESUME = "nothing is paid twice: run the same command again to resume";

/**
 * Payout failures get what to do next added to their message (the CLI's edge prints it, with its
 * code's exit code). `pays`: the command sends payments, so the advice says a re-run resumes
 * (plan and history send nothing).
 */
function payoutAction<A extends unknown[]>(fn: (...args: A) => Promise<void>, pays = false) {
  const again = pays ? RESUME : "then run the same command again";
  return action(async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const advice =
        err instanceof InsufficientBalanceError
          ? `insufficient balance: ${err.message}. Top up the source account; ${again}`
          : err instanceof NodeUnreachableError
            ? `${err.message}. Check --node; ${again}`
            : err instanceof NodeRpcError
              ? `${err.message}; ${again}`
              : err instanceof PayoutStateError
                ? err.message
                : null;
      if (advice === null) throw err;
      throw new CodedError((err as CodedError).code, advice);
    }
  });
}

/** Where the ledger is: the SQLite file, or the PostgreSQL database of a scaled-out hub. */
interface LedgerOptions {
  db: string;
  postgres?: string;
}

async function withStore<T>(where: LedgerOptions, task: (store: PayoutStore) => Promise<T>): Promise<T> {
  checkUrlFlag("--postgres", where.postgres);
  const store =
    where.postgres !== undefined
      ? await PostgresPayoutStore.connect(where.postgres)
      : new SqlitePayoutStore(where.db);
  try {
    return await task(store);
  } finally {
    await store.close();
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

interface PlanOptions extends LedgerOptions {
  budget?: string;
  fraction?: string;
  node?: string;
  account?: string;
  minWorks: string;
  exclude: string[];
  out?: string;
  json?: boolean;
}

/**
 * The budget, checked flag by flag before anything is asked of the node: a mistyped --fraction is
 * refused at once, not after a round trip. --fraction reads the balance when called.
 */
function budgetOf(opts: PlanOptions): () => Promise<bigint> {
  if ((opts.budget === undefined) === (opts.fraction === undefined)) {
    throw new UsageError("give either --budget RAW or --fraction F (with --node and --account)");
  }
  if (opts.budget !== undefined) {
    const budget = parseRaw(opts.budget, "--budget");
    return async () => budget;
  }
  const fraction = parseFraction(opts.fraction as string);
  const { node, account } = opts;
  if (!node || !account) throw new UsageError("--fraction needs --node URL and --account ADDRESS");
  const invalid = addressError(account);
  if (invalid) throw new UsageError(`--account: ${invalid}`);
  return async () => applyFraction(await new NodeRpc(node).balance(account), fraction);
}

async function plan(opts: PlanOptions): Promise<void> {
  const minWorks = Number(opts.minWorks);
  if (!Number.isInteger(minWorks) || minWorks < 0)
    throw new UsageError("--min-works must be a whole number >= 0");
  for (const address of opts.exclude) {
    const invalid = addressError(address);
    if (invalid) throw new UsageError(`--exclude ${address}: ${invalid}`);
  }
  const budgetFromFlags = budgetOf(opts);
  const created = await withStore(opts, async (store) => {
    const budget = await budgetFromFlags();
    const built = buildPlan(await store.unpaidWork(), { budget, minWorks, exclude: opts.exclude });
    if (built.items.length > 0) await store.savePlan(built);
    return built;
  });
  const file = opts.out ?? `payout-${created.id}.json`;
  if (created.items.length > 0) writePlanFile(file, created);
  if (opts.json) {
    printJson({ ...planDocument(created), file: created.items.length > 0 ? file : null });
    return;
  }
  process.stdout.write(`${describePlan(created)}\n`);
  process.stdout.write(
    created.items.length > 0
      ? `plan ${created.id} written to ${file}\npay it with: dpow payouts run ${file} --node URL (--wallet W --source ADDRESS | --key-file FILE)\n`
      : "nothing to pay: no worker has enough unpaid work (no plan saved)\n",
  );
}

function describePlan(p: Plan | StoredPlan): string {
  const rows = p.items.map((i) => [
    i.worker,
    String(i.precache),
    String(i.ondemand),
    formatWeight(i.weight),
    formatNano(i.amount),
    ...("status" in i ? [(i as StoredItem).status] : []),
  ]);
  const header = ["worker", "precache", "ondemand", "weight", "Nano", ...("status" in p ? ["status"] : [])];
  const lines = [table(header, rows)];
  for (const s of p.skipped) lines.push(`skipped ${s.worker} (${s.works} works): ${s.reason}`);
  lines.push(
    `total ${formatNano(planTotal(p))} Nano of a ${formatNano(p.budget)} Nano budget, ${p.items.length} payments`,
  );
  return lines.join("\n");
}

interface RunOptions extends LedgerOptions {
  node: string;
  wallet?: string;
  source?: string;
  key?: string;
  keyFile?: string;
  difficulty?: string;
  threads?: string;
  work: string;
  mqttUrl?: string;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new UsageError(`cannot read --key-file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

async function makePayer(opts: RunOptions, store: PayoutStore, rpc: NodeRpc): Promise<Payer> {
  const keyText = opts.keyFile !== undefined ? readKeyFile(opts.keyFile) : opts.key;
  if ((opts.wallet !== undefined) === (keyText !== undefined)) {
    throw new UsageError("give either --wallet W --source ADDRESS or --key SECRET_KEY / --key-file FILE");
  }
  if (opts.wallet !== undefined) {
    if (!opts.source)
      throw new UsageError("--wallet needs --source ADDRESS (the wallet account to pay from)");
    const invalid = addressError(opts.source);
    if (invalid) throw new UsageError(`--source: ${invalid}`);
    return new WalletPayer(rpc, store, opts.wallet, opts.source);
  }
  const secretKey = hexToBytes(keyText, 32, "secret key");
  const threshold = parseU64(opts.difficulty ?? formatU64(SEND_THRESHOLD), "--difficulty");
  const threads = parseThreads(opts.threads ?? "1");
  if (opts.work !== "cpu" && !/^https?:\/\//.test(opts.work)) {
    throw new UsageError(`--work must be "cpu" or a work server URL such as http://127.0.0.1:7076`);
  }
  return new KeyPayer(rpc, store, secretKey, await createBackend(opts.work, { threads }), threshold);
}

async function confirmRun(summary: RunSummary): Promise<boolean> {
  process.stdout.write(`${describePlan(summary.plan)}\n`);
  if (!process.stdin.isTTY) {
    throw new UsageError("stdin is not a terminal: pass --yes to pay without the confirmation prompt");
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(
    `Send ${summary.remaining.length} payments, ${formatNano(summary.remainingTotal)} Nano from ${summary.source}? [y/N] `,
  );
  prompt.close();
  return /^y(es)?$/i.test(answer.trim());
}

function progressLine(done: number, total: number, item: StoredItem, hash: string): void {
  const width = 20;
  const filled = Math.round((done / total) * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  process.stderr.write(
    `[${bar}] ${done}/${total} ${formatNano(item.amount)} Nano -> ${item.worker} (${hash})\n`,
  );
}

async function run(planArg: string, opts: RunOptions): Promise<void> {
  const planId = planIdFrom(planArg);
  checkUrlFlag("--mqtt-url", opts.mqttUrl); // before paying, not at the notification after it
  const rpc = new NodeRpc(opts.node);
  await withStore(opts, async (store) => {
    const payer = await makePayer(opts, store, rpc);
    try {
      const { outcome, plan: result } = await runPlan(store, rpc, payer, planId, {
        dryRun: opts.dryRun,
        confirm: opts.yes || opts.dryRun ? undefined : confirmRun,
        progress: opts.json ? undefined : progressLine,
      });
      const notified =
        outcome === "complete" || outcome === "already-complete" ? await notify(opts, store, result) : 0;
      if (opts.json) {
        printJson({ outcome, notified, ...planDocument(result) });
        return;
      }
      if (outcome === "dry-run") process.stdout.write(`${describePlan(result)}\ndry run: nothing sent\n`);
      else if (outcome === "declined") process.stdout.write("not confirmed: nothing sent\n");
      else
        process.stdout.write(
          `plan ${planId} ${outcome === "complete" ? "paid" : "was already paid"} in full${notified ? `; ${notified} workers notified` : ""}\n`,
        );
    } finally {
      await payer.close();
    }
  });
}

/** With --mqtt-url, each paid worker hears its snapshot counters on client/ADDRESS. */
async function notify(opts: RunOptions, store: PayoutStore, plan: StoredPlan): Promise<number> {
  if (!opts.mqttUrl) return 0;
  const broker = await connectExternalBroker(opts.mqttUrl, { connectTimeoutMs: 5000 });
  try {
    return await publishSnapshots(broker, store, plan);
  } finally {
    await broker.close();
  }
}

async function history(opts: LedgerOptions & { json?: boolean }): Promise<void> {
  const plans = await withStore(opts, (store) => store.history());
  if (opts.json) {
    printJson(plans.map(planDocument));
    return;
  }
  const rows = plans.map((p) => [
    p.id,
    new Date(p.createdAt).toISOString().slice(0, 19).replace("T", " "),
    p.status,
    `${p.items.filter((i) => i.status === "paid").length}/${p.items.length}`,
    formatNano(planTotal(p)),
  ]);
  process.stdout.write(
    plans.length
      ? `${table(["plan", "created (UTC)", "status", "paid", "Nano"], rows)}\n`
      : "no payouts yet\n",
  );
}

export function registerPayouts(program: Command): void {
  const payouts = program.command("payouts").description("pay workers in Nano for the work they did");
  ledgerOptions(
    payouts
      .command("plan")
      .description("share a budget among workers by their difficulty-weighted work since their last payout"),
  )
    .option("--budget <raw>", "amount to share, in raw (1 Nano = 10^30 raw)")
    .option("--fraction <f>", "share this fraction (0 < f <= 1) of --account's balance on --node")
    .option("--node <url>", "Nano node RPC URL, e.g. http://[::1]:7076 (with --fraction)")
    .option("--account <address>", "the payout account whose balance --fraction applies to")
    .option("--min-works <n>", "workers with fewer unpaid works wait for the next payout", "1")
    .option(
      "--exclude <address>",
      "never pay this address (repeatable); its work carries over",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("--out <file>", "plan file to write (default payout-PLANID.json)")
    .option("--json", "print the plan as JSON")
    .action(payoutAction(plan));
  ledgerOptions(
    payouts
      .command("run")
      .description("pay a plan; safe to re-run after any failure (every payment is made exactly once)")
      .argument("<plan>", "plan file written by `payouts plan`, or the plan id"),
  )
    .requiredOption("--node <url>", "Nano node RPC URL, e.g. http://[::1]:7076")
    .option("--wallet <id>", "node wallet holding --source (payments via the node's send RPC)")
    .option("--source <address>", "wallet account to pay from")
    .option("--key <hex>", "secret key of the payout account: blocks signed here, published with process")
    .option("--key-file <file>", "file holding that secret key (keeps it out of the process list)")
    .option("--difficulty <hex>", "work threshold for key-mode send blocks", formatU64(SEND_THRESHOLD))
    .option(
      "--work <backend>",
      'key-mode work: "cpu" (this machine) or a work server URL (nano-work-server RPC)',
      "cpu",
    )
    .option("--threads <n>", "CPU threads computing key-mode work with --work cpu", "1")
    .option(
      "--mqtt-url <url>",
      "tell workers their snapshot on client/ADDRESS: mqtt://dpowserver:PASSWORD@host:1883",
    )
    .option("--dry-run", "check the balance and show what would be paid; send nothing")
    .option("--yes", "do not ask for confirmation")
    .option("--json", "print the outcome as JSON (no progress lines)")
    .action(payoutAction(run, true));
  ledgerOptions(payouts.command("history").description("list past and open payout plans"))
    .option("--json", "print the plans as JSON")
    .action(payoutAction(history));
}
