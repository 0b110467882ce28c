import type { Command } from "commander";
import { addressError } from "../../nano/account.js";
import { RECEIVE_THRESHOLD, SEND_THRESHOLD } from "../../nano/difficulty.js";
import { benchmark, expectedSeconds } from "../../pow/benchmark.js";
import { createBackend } from "../../pow/create-backend.js";
import { ENGINES, type Engine } from "../../pow/kernel.js";
import { formatDuration, formatHashRate } from "../../protocol/format.js";
import {
  type RunningWorker,
  startWorker,
  WORKER_DEFAULTS,
  type WorkChoice,
  type WorkerLog,
} from "../../protocol/worker-session.js";
import { stableClientId } from "../../worker/client-id.js";
import { formatStatusLine, jsonLog, plainLog, StatusLine } from "../../worker/display.js";
import { action, UsageError } from "../output.js";
import { parseThreads } from "./work.js";

const DEFAULT_SERVER = "mqtt://client:client@127.0.0.1:1883";
const WORK_CHOICES: readonly WorkChoice[] = ["any", "ondemand", "precache"];

interface WorkerCliOptions {
  payout: string;
  server: string;
  work: string;
  backend: string;
  threads?: string;
  engine?: string;
  jsonLogs?: boolean;
  benchmark: boolean;
  clientId?: string;
}

function checkOptions(opts: WorkerCliOptions): { work: WorkChoice; threads?: number } {
  if (opts.engine !== undefined && !(ENGINES as readonly string[]).includes(opts.engine)) {
    throw new UsageError(`--engine must be one of ${ENGINES.join(", ")}, got "${opts.engine}"`);
  }
  const problem = addressError(opts.payout);
  if (problem !== null) throw new UsageError(`--payout is not a valid Nano address: ${problem}`);
  if (!/^(mqtts?|wss?):\/\/[^/\s]+/.test(opts.server)) {
    throw new UsageError(
      `--server must be an MQTT URL such as ${DEFAULT_SERVER} or wss://HOST/mqtt, got "${opts.server}"`,
    );
  }
  if (opts.clientId !== undefined && !/^[\x21-\x7e]{1,64}$/.test(opts.clientId)) {
    throw new UsageError(
      `--client-id must be 1 to 64 printable characters without spaces, got "${opts.clientId}"`,
    );
  }
  if (!(WORK_CHOICES as readonly string[]).includes(opts.work)) {
    throw new UsageError(`--work must be one of ${WORK_CHOICES.join(", ")}, got "${opts.work}"`);
  }
  if (opts.threads === undefined) return { work: opts.work as WorkChoice };
  return { work: opts.work as WorkChoice, threads: parseThreads(opts.threads) };
}

/** Benchmarks for about a second and says how long a job at the live network's thresholds takes. */
async function announceSpeed(
  backend: Parameters<typeof benchmark>[0],
  log: WorkerLog,
): Promise<number | undefined> {
  try {
    const { hashRate } = await benchmark(backend, 1000);
    const send = formatDuration(expectedSeconds(SEND_THRESHOLD, hashRate));
    const receive = formatDuration(expectedSeconds(RECEIVE_THRESHOLD, hashRate));
    log.info(
      { hashRate, backend: backend.name },
      `benchmark: ${backend.name} hashes at ~${formatHashRate(hashRate)}; expected time per job: ${send} at the send difficulty, ${receive} at the receive difficulty`,
    );
    return hashRate;
  } catch (err) {
    log.warn({ backend: backend.name }, `benchmark failed (${(err as Error).message}); starting anyway`);
    return undefined;
  }
}

async function runWorker(opts: WorkerCliOptions): Promise<void> {
  const { work, threads } = checkOptions(opts);
  const statusLine = !opts.jsonLogs && process.stdout.isTTY ? new StatusLine(process.stdout) : undefined;
  const log = opts.jsonLogs ? jsonLog() : (statusLine?.log ?? plainLog());
  const backend = await createBackend(opts.backend, {
    ...(threads ? { threads } : {}),
    ...(opts.engine ? { engine: opts.engine as Engine } : {}),
  }).catch((err: Error) => {
    throw new UsageError(err.message);
  });
  log.info({ backend: backend.name }, `work backend: ${backend.name}`);
  const initialHashRate = opts.benchmark ? await announceSpeed(backend, log) : undefined;
  // One client id per payout address and installation, so a restart resumes the broker session.
  const stable = opts.clientId === undefined ? stableClientId(opts.payout) : null;
  if (opts.clientId === undefined && stable === null)
    log.warn({}, "cannot write the config folder; using a new MQTT client id (set one with --client-id)");
  const worker = await startWorker({
    payout: opts.payout,
    ...((opts.clientId ?? stable?.id) ? { clientId: opts.clientId ?? stable?.id } : {}),
    server: opts.server,
    work,
    backend,
    log,
    ...(initialHashRate ? { initialHashRate } : {}),
  });
  const redraw = () => statusLine?.update(formatStatusLine(worker.status(), Date.now()));
  const refresh = statusLine ? setInterval(redraw, 500) : undefined;
  await untilSignal(worker, log);
  stable?.release();
  clearInterval(refresh);
  redraw();
  statusLine?.end();
}

/** Resolves once the worker stopped after SIGINT/SIGTERM; a second signal exits at once. */
function untilSignal(worker: RunningWorker, log: WorkerLog): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
      process.once("SIGINT", () => process.exit(130)).once("SIGTERM", () => process.exit(143));
      log.info({ signal }, `${signal}: stopping (abandoning the running job, disconnecting)`);
      worker.stop().then(resolve, (err: Error) => {
        log.error({}, `error while stopping: ${err.message}`);
        resolve();
      });
    };
    process.on("SIGINT", onSignal).on("SIGTERM", onSignal);
  });
}

export function registerWorker(program: Command): Command {
  return program
    .command("worker")
    .description("compute proof of work for a dpow hub and earn Nano for it")
    .requiredOption("--payout <address>", "Nano address credited for your work (nano_...)")
    .option(
      "--server <url>",
      "hub's MQTT broker: mqtt://USER:PASS@HOST:PORT, or ws(s)://HOST/mqtt for MQTT over WebSocket (env DPOW_SERVER)",
      process.env.DPOW_SERVER ?? DEFAULT_SERVER,
    )
    .option("--work <type>", `which jobs to take: ${WORK_CHOICES.join(", ")}`, WORKER_DEFAULTS.work)
    .option(
      "--backend <spec>",
      "cpu, or a nano-work-server-compatible URL such as http://127.0.0.1:7000",
      "cpu",
    )
    .option("--threads <n>", "CPU threads for the cpu backend (default: all cores)")
    .option("--engine <engine>", "cpu kernel: auto, native or wasm (default auto)")
    .option("--json-logs", "log JSON lines (pino) instead of text")
    .option("--no-benchmark", "skip the one-second speed test at start")
    .option(
      "--client-id <id>",
      "MQTT client id (default: the same at every start for this payout address on this machine)",
    )
    .action(action(runWorker));
}
