import { type ChildProcess, spawn } from "node:child_process";
import { SqliteLedger } from "../../src/hub/ledger/sqlite.js";
import type { Ledger } from "../../src/hub/ports.js";
import { publicKeyToAddress } from "../../src/nano/account.js";
import { fromMultiplier, RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../../src/nano/difficulty.js";
import { DPOW_BIN } from "../helpers/cli.js";

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`node bin/dpow.js ...`) without blocking; `onSpawn` gets the child (e.g. to kill it). */
export function runCli(args: string[], onSpawn?: (child: ChildProcess) => void): Promise<CliResult> {
  const child = spawn(process.execPath, [DPOW_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  onSpawn?.(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export const address = (n: number) => publicKeyToAddress(new Uint8Array(32).fill(n));

/** Records wins for `workers` workers (worker i wins i+1 times at varied difficulties) and one invalid address. */
export async function seedWins(db: string, workers: number): Promise<void> {
  const ledger = new SqliteLedger(db);
  await recordSeedWins(ledger, workers);
  await ledger.close();
}

/** seedWins through any hub ledger (e.g. Postgres); the caller closes it. */
export async function recordSeedWins(ledger: Ledger, workers: number): Promise<void> {
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
}
