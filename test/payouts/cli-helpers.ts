import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import { publicKeyToAddress } from "../../src/nano/account.js";
import { fromMultiplier, RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../../src/nano/difficulty.js";

const DPOW = fileURLToPath(new URL("../../bin/dpow.js", import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Where to SIGKILL a run: after `afterPayments` progress lines plus `jitterMs`, or (afterPayments
 * 0) `jitterMs` after the start. A run that ends first is not killed.
 */
export interface KillPoint {
  afterPayments: number;
  jitterMs: number;
}

/** Runs the built CLI (`node bin/dpow.js ...`), optionally killing it at `kill`. */
export function runCli(args: string[], kill?: KillPoint): Promise<CliResult> {
  const child: ChildProcess = spawn(process.execPath, [DPOW, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let payments = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => child.kill("SIGKILL"), kill?.jitterMs ?? 0);
  };
  child.stdout?.on("data", (d) => {
    stdout += d;
  });
  child.stderr?.on("data", (d) => {
    stderr += d;
    const lines = String(d)
      .split("\n")
      .filter((l) => l.startsWith("[")).length;
    const before = payments;
    payments += lines;
    if (kill && kill.afterPayments > 0 && before < kill.afterPayments && payments >= kill.afterPayments)
      arm();
  });
  if (kill && kill.afterPayments === 0) arm();
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export const address = (n: number) => publicKeyToAddress(new Uint8Array(32).fill(n));

/** Records wins for `workers` workers (worker i wins i+1 times at varied difficulties) and one invalid address. */
export async function seedWins(db: string, workers: number): Promise<void> {
  const ledger = new SqliteLedger(db);
  const difficulties = [SEND_THRESHOLD, RECEIVE_THRESHOLD, fromMultiplier(2, SEND_THRESHOLD)];
  let job = 0;
  const record = (worker: string, n: number) =>
    ledger.recordWin({
      jobId: `seed-${job}`,
      hash: (++job).toString(16).padStart(64, "0"),
      type: n % 2 ? "precache" : "ondemand",
      worker,
      service: null,
      difficulty: difficulties[n % difficulties.length] as bigint,
      work: 0n,
      at: Date.now(),
    });
  for (let i = 0; i < workers; i++) for (let n = 0; n <= i; n++) await record(address(i + 10), n);
  await record("nano_1thisisnotavalidaddress", 0);
  await ledger.close();
}
