import { type Command, Option } from "commander";
import type { Logger } from "pino";
import { CodedError } from "../../errors.js";
import { BROKER_DEFAULTS } from "../../hub/broker/embedded.js";
import { DEV_BASE, POLICY_DEFAULTS } from "../../hub/difficulty-policy.js";
import { HTTP_LIMITS, type HttpFrontSettings, type HttpLimits } from "../../hub/http-front.js";
import { HUB_DEFAULTS } from "../../hub/hub.js";
import {
  createLogger,
  launchServer,
  PortTakenError,
  type RunningServer,
  type ServerConfig,
} from "../../hub/launch.js";
import { SQLITE_LEDGER_DEFAULTS } from "../../hub/ledger/sqlite.js";
import { WorkPeerListenError } from "../../hub/work-peer.js";
import { addressError, publicKeyToAddress } from "../../nano/account.js";
import { SEND_THRESHOLD } from "../../nano/difficulty.js";
import { formatU64, parseU64 } from "../../nano/hex.js";
import { openPayoutPeriod } from "../../payouts/period.js";
import { redactUrl } from "../../protocol/redact-url.js";
import type { SqliteSync } from "../../sql/sqlite.js";
import { addDashboardFlags, type DashboardFlags, dashboardSettings } from "../dashboard-flags.js";
import { addMqttFlags, type MqttFlags, mqttSettings } from "../mqtt-flags.js";
import { action, UsageError } from "../output.js";
import { addPenaltyFlags, type PenaltyFlags, penaltySettings } from "../penalty-flags.js";
import { addPrecacheFlags, type PrecacheFlags, precacheSettings } from "../precache-flags.js";
import { checkUrlFlag } from "../url-flags.js";
import { addWorkPeerFlags, type WorkPeerFlags, workPeerSettings } from "../work-peer-flags.js";

export interface ServerOptions
  extends PrecacheFlags,
    MqttFlags,
    DashboardFlags,
    WorkPeerFlags,
    Partial<PenaltyFlags> {
  port: string;
  host: string;
  mqttPort: string;
  db: string;
  sync: SqliteSync;
  difficulty?: string;
  network?: "live" | "dev";
  maxMultiplier: string;
  mqttUrl?: string;
  redis?: string;
  redisPrefix?: string;
  postgres?: string;
  clientPassword: string;
  interfacePassword?: string;
  serverPassword?: string;
  localWorker?: boolean;
  workerPayout: string;
  logLevel: string;
  outOfRange?: "clamp" | "refuse";
  /** HTTP front limits and answer statuses; only `dpow server` has the flags (`dpow start` takes the defaults). */
  httpStatus?: "original" | "codes";
  maxConnections?: string;
  maxConnectionsPerIp?: string;
  headersTimeout?: string;
  requestTimeout?: string;
  bodyIdleTimeout?: string;
  wsMaxInFlight?: string;
  wsMaxUnsent?: string;
  wsMaxBadCredentials?: string;
}

/** Nobody's address (public key zero): the local worker's default payout, so a demo credits no one. */
export const NOBODY = publicKeyToAddress(new Uint8Array(32));

export function parsePort(text: string, flag: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535 (0 picks a free one), got "${text}"`);
  }
  return port;
}

/** A whole number >= min from a flag, or undefined when the flag is not given. */
function wholeNumber(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError(`${flag} must be a whole number >= ${min}, got "${text}"`);
  }
  return value;
}

/** The HTTP front's settings from the flags; what is not given keeps its default (HTTP_LIMITS). */
export function httpSettings(opts: ServerOptions): HttpFrontSettings {
  const seconds = (text: string | undefined, flag: string) => {
    const value = wholeNumber(text, flag, 1);
    return value === undefined ? undefined : value * 1000;
  };
  const given: Partial<HttpLimits> = {
    maxConnections: wholeNumber(opts.maxConnections, "--max-connections", 0),
    maxConnectionsPerIp: wholeNumber(opts.maxConnectionsPerIp, "--max-connections-per-ip", 0),
    headersTimeoutMs: seconds(opts.headersTimeout, "--headers-timeout"),
    requestTimeoutMs: seconds(opts.requestTimeout, "--request-timeout"),
    bodyIdleTimeoutMs: seconds(opts.bodyIdleTimeout, "--body-idle-timeout"),
    wsMaxInFlight: wholeNumber(opts.wsMaxInFlight, "--ws-max-in-flight", 1),
    wsMaxUnsentBytes: wholeNumber(opts.wsMaxUnsent, "--ws-max-unsent", 1),
    wsMaxBadCredentials: wholeNumber(opts.wsMaxBadCredentials, "--ws-max-bad-credentials", 1),
  };
  const limits = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const { headersTimeoutMs, requestTimeoutMs } = { ...HTTP_LIMITS, ...limits };
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new UsageError(
      "--headers-timeout must not exceed --request-timeout (headers are part of the request)",
    );
  }
  return { limits, httpStatus: opts.httpStatus };
}

/** The send base: --difficulty, or the network's (live by default). */
export function baseDifficulty(opts: { difficulty?: string; network?: "live" | "dev" }): bigint {
  if (opts.difficulty !== undefined && opts.network !== undefined) {
    throw new UsageError("give --difficulty or --network, not both");
  }
  if (opts.difficulty !== undefined) return parseU64(opts.difficulty, "--difficulty");
  return opts.network === "dev" ? DEV_BASE : SEND_THRESHOLD;
}

export function serverConfig(opts: ServerOptions, logger: Logger): ServerConfig {
  const maxMultiplier = Number(opts.maxMultiplier);
  if (!Number.isFinite(maxMultiplier) || maxMultiplier < 1) {
    throw new UsageError(`--max-multiplier must be a number >= 1, got "${opts.maxMultiplier}"`);
  }
  if (opts.localWorker && opts.mqttUrl !== undefined) {
    throw new UsageError("--local-worker runs on the embedded broker; it cannot be combined with --mqtt-url");
  }
  if (opts.serverPassword !== undefined && opts.mqttUrl !== undefined) {
    throw new UsageError(
      "--server-password is for the embedded broker; with --mqtt-url the dpowserver password is in the URL",
    );
  }
  checkUrlFlag("--mqtt-url", opts.mqttUrl);
  checkUrlFlag("--redis", opts.redis);
  checkUrlFlag("--postgres", opts.postgres);
  const base = baseDifficulty(opts);
  const payoutProblem = addressError(opts.workerPayout);
  if (payoutProblem !== null)
    throw new UsageError(`--worker-payout is not a valid Nano address: ${payoutProblem}`);
  return {
    port: parsePort(opts.port, "--port"),
    host: opts.host,
    mqttPort: parsePort(opts.mqttPort, "--mqtt-port"),
    workPeer: workPeerSettings(opts, opts.host),
    db: opts.db,
    sync: opts.sync,
    base,
    maxMultiplier,
    outOfRange: opts.outOfRange,
    http: httpSettings(opts),
    precache: precacheSettings(opts, base, maxMultiplier),
    mqttUrl: opts.mqttUrl,
    redis: opts.redis !== undefined ? { url: opts.redis, prefix: opts.redisPrefix } : undefined,
    postgresUrl: opts.postgres,
    clientPassword: opts.clientPassword,
    interfacePassword: opts.interfacePassword,
    serverPassword: opts.serverPassword,
    mqtt: mqttSettings(opts, opts.db),
    localWorker: opts.localWorker ? { payout: opts.workerPayout } : undefined,
    dashboard: dashboardSettings(opts),
    openPayoutPeriod,
    penalties: opts.penaltyThreshold !== undefined ? penaltySettings(opts as PenaltyFlags) : undefined,
    logger,
  };
}

/** Turns a taken port into advice naming the flag that moves it. */
function portAdvice(err: PortTakenError): CodedError {
  const flag = err.which === "http" ? "--port" : err.which === "mqtt" ? "--mqtt-port" : "--work-peer";
  const hint = err.which === "mqtt" ? " (another MQTT broker?)" : "";
  return new CodedError(
    err.code,
    `${err.message}${hint}; choose another with ${flag} PORT (0 picks a free one)`,
  );
}

/** Listen errors of a --host that is not this machine's (or cannot be resolved). */
const BAD_HOST = new Set(["EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN"]);

/** Turns a launch failure the operator can fix (a taken port, a bad --host) into a one-line error. */
export function launchAdvice(err: unknown, host: string): unknown {
  if (err instanceof PortTakenError) return portAdvice(err);
  const { message } = err as Error;
  const code = err instanceof WorkPeerListenError ? err.errno : (err as NodeJS.ErrnoException).code;
  if (code !== undefined && BAD_HOST.has(code)) {
    return new UsageError(
      `cannot listen on --host ${host} (${code}): give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`,
    );
  }
  if (code === "EACCES") {
    return new UsageError(
      `${message}: ports below 1024 need privileges; choose another --port or --mqtt-port`,
    );
  }
  return err;
}

/**
 * Runs until SIGTERM or SIGINT, then shuts down cleanly and exits 0. `say` also tells a person at
 * the terminal, whose log level may hide the log lines (`dpow start` logs warnings only).
 */
export function stopOnSignal(running: RunningServer, logger: Logger, say?: (line: string) => void): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    say?.("stopping…");
    running.close().then(
      () => {
        logger.info("stopped");
        say?.("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

async function server(opts: ServerOptions): Promise<void> {
  const logger = createLogger(opts.logLevel);
  const config = serverConfig(opts, logger);
  const running = await launchServer(config).catch((err: unknown) => {
    throw launchAdvice(err, config.host);
  });
  // Before "listening": whoever waits for that line may signal at once (see start.ts).
  stopOnSignal(running, logger);
  logger.info(
    {
      http_port: running.httpPort,
      mqtt_port: running.mqttPort,
      ...(running.workPeerPort === null ? {} : { work_peer_port: running.workPeerPort }),
      host: config.host,
      base_difficulty: formatU64(config.base),
      network: opts.difficulty !== undefined ? "custom" : (opts.network ?? "live"),
      db: config.postgresUrl !== undefined ? redactUrl(config.postgresUrl) : config.db,
      coordinator: config.redis !== undefined ? redactUrl(config.redis.url) : "memory",
    },
    "listening",
  );
  if (opts.network === "dev") {
    logger.warn(
      "development difficulty: a CPU solves it in milliseconds; this work is NOT valid on the live network",
    );
  }
}

/** Options shared by `dpow server` and `dpow start`. */
export function hubOptions(command: Command, defaults: { logLevel: string }): Command {
  return addDashboardFlags(addMqttFlags(command))
    .option(
      "--port <port>",
      "HTTP port (service API, /mqtt, /metrics); 0 picks a free one",
      String(HUB_DEFAULTS.port),
    )
    .option("--host <host>", "interface to listen on (0.0.0.0 for every interface)", HUB_DEFAULTS.host)
    .option(
      "--mqtt-port <port>",
      "TCP port of the embedded MQTT broker; 0 picks a free one",
      String(BROKER_DEFAULTS.mqttPort),
    )
    .option("--db <file>", "SQLite ledger file (services, credits, statistics)", SQLITE_LEDGER_DEFAULTS.file)
    .option(
      "--max-multiplier <x>",
      "highest difficulty served, as a multiple of the base",
      String(POLICY_DEFAULTS.maxMultiplier),
    )
    .addOption(
      new Option(
        "--sync <mode>",
        "SQLite: normal keeps every credit through any hub crash; full also through a power loss (an fsync per win)",
      )
        .choices(["normal", "full"])
        .default(SQLITE_LEDGER_DEFAULTS.sync),
    )
    .addOption(
      new Option("--client-password <pw>", "password of the public worker account `client`")
        .env("DPOW_CLIENT_PASSWORD")
        .default(BROKER_DEFAULTS.clientPassword),
    )
    .addOption(
      new Option(
        "--interface-password <pw>",
        "password of the read-only `dpowinterface` account (off without one)",
      ).env("DPOW_INTERFACE_PASSWORD"),
    )
    .addOption(
      new Option(
        "--server-password <pw>",
        "password of the embedded broker's `dpowserver` account, for a tool that talks to workers as the hub (random at every start without one)",
      ).env("DPOW_SERVER_PASSWORD"),
    )
    .option("--worker-payout <address>", "payout address of the local worker", NOBODY)
    .addOption(
      new Option("--log-level <level>", "log lines at this level and above")
        .choices(["fatal", "error", "warn", "info", "debug", "trace"])
        .default(defaults.logLevel),
    );
}

export function registerServer(program: Command): void {
  const command = program
    .command("server")
    .description("run the hub: service API, embedded MQTT broker, work flow, accounting")
    .option("--difficulty <hex>", "send base difficulty, 16 hex digits (receive is 1/64 of it)")
    .addOption(new Option("--network <network>", "difficulty preset (default live)").choices(["live", "dev"]))
    .addOption(
      new Option(
        "--mqtt-url <url>",
        "external broker as dpowserver, e.g. mqtt://dpowserver:PW@host:1883",
      ).env("DPOW_MQTT_URL"),
    )
    .addOption(
      new Option(
        "--redis <url>",
        "Redis shared by hub replicas (jobs, win locks, work cache), e.g. redis://127.0.0.1:6379",
      ).env("DPOW_REDIS_URL"),
    )
    .option("--redis-prefix <text>", "prefix of this hub's Redis keys (several hubs on one Redis)", "dpow:")
    .addOption(
      new Option(
        "--postgres <url>",
        "PostgreSQL ledger shared by hub replicas, in place of --db, e.g. postgres://dpow@127.0.0.1/dpow",
      ).env("DPOW_POSTGRES_URL"),
    )
    .option("--local-worker", "also run a one-thread CPU worker in this process")
    .addOption(
      new Option(
        "--out-of-range <mode>",
        "a request below the receive threshold: clamp (raised, with a hint) or refuse; above the max is always refused",
      )
        .choices(["clamp", "refuse"])
        .default(POLICY_DEFAULTS.outOfRange),
    );
  addHttpLimitFlags(command);
  addPenaltyFlags(addPrecacheFlags(hubOptions(command, { logLevel: "info" }))).action(action(server));
  addWorkPeerFlags(command);
}

/** The HTTP front's limits (README "Security and limits"); defaults from HTTP_LIMITS. */
function addHttpLimitFlags(command: Command): void {
  const d = HTTP_LIMITS;
  command
    .addOption(
      new Option(
        "--http-status <mode>",
        "status of service answers: original (always 200, errors in the body) or codes (400, 401, 429, 504, …)",
      )
        .choices(["original", "codes"])
        .default("original"),
    )
    .option(
      "--max-connections <n>",
      "most HTTP/WebSocket connections in all, /mqtt workers aside (those count against --mqtt-max-connections); past it closed unread (0 = no cap; default: what the MQTT cap leaves of the open-file limit, less 128)",
    )
    .option(
      "--max-connections-per-ip <n>",
      "open HTTP/WebSocket connections from one address (0: no cap, e.g. behind a proxy)",
      String(d.maxConnectionsPerIp),
    )
    .option(
      "--headers-timeout <s>",
      "seconds to receive a request's headers",
      String(d.headersTimeoutMs / 1000),
    )
    .option("--request-timeout <s>", "seconds to receive a whole request", String(d.requestTimeoutMs / 1000))
    .option(
      "--body-idle-timeout <s>",
      "seconds a request body may stall before the connection is cut",
      String(d.bodyIdleTimeoutMs / 1000),
    )
    .option("--ws-max-in-flight <n>", "unanswered requests per service WebSocket", String(d.wsMaxInFlight))
    .option(
      "--ws-max-unsent <bytes>",
      "answers a service WebSocket has not read before it is closed",
      String(d.wsMaxUnsentBytes),
    )
    .option(
      "--ws-max-bad-credentials <n>",
      "requests with invalid credentials that close a service WebSocket",
      String(d.wsMaxBadCredentials),
    );
}
