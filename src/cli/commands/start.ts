import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { apiKeyMatches } from "../../hub/api-keys.js";
import {
  createLogger,
  launchServer,
  PortTakenError,
  type RunningServer,
  type ServerConfig,
} from "../../hub/launch.js";
import { SqliteLedger } from "../../hub/ledger/sqlite.js";
import { addService, rotateServiceKey } from "../../hub/service-admin.js";
import { formatU64 } from "../../nano/hex.js";
import { action } from "../output.js";
import { hubOptions, launchAdvice, type ServerOptions, serverConfig, stopOnSignal } from "./server.js";

const DEMO_SERVICE = "demo";

/** Where the demo key is kept: next to the ledger, which stores only its hash. */
function demoKeyFile(db: string): string | undefined {
  return db === ":memory:" ? undefined : `${db}.demo-key`;
}

/**
 * The demo service's key, the same at every start so a printed curl keeps working: reused from its
 * file while it matches the ledger; created, or replaced (after `dpow service rotate-key demo`, or a
 * lost file), otherwise.
 */
async function demoKey(db: string): Promise<string> {
  const file = demoKeyFile(db);
  const ledger = new SqliteLedger(db);
  try {
    const service = await ledger.service(DEMO_SERVICE);
    const saved = file === undefined ? undefined : savedKey(file);
    if (service && saved !== undefined && apiKeyMatches(saved, service.keyHash)) return saved;
    const apiKey = service
      ? await rotateServiceKey(ledger, DEMO_SERVICE)
      : (await addService(ledger, DEMO_SERVICE, { display: "Demo service (npm start)" })).apiKey;
    if (file !== undefined) {
      writeFileSync(file, `${apiKey}\n`, { mode: 0o600 });
      chmodSync(file, 0o600); // the mode above applies only to a new file
    }
    return apiKey;
  } finally {
    await ledger.close();
  }
}

function savedKey(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return undefined; // missing or unreadable: a new key replaces it
  }
}

function keyNote(db: string): string {
  const file = demoKeyFile(db);
  return file === undefined ? "a new key at every start" : `kept in ${file}, the same at every start`;
}

/** Launches on the asked ports, moving to free ones when they are taken (unlike `dpow server`). */
async function launchAnywhere(config: ServerConfig): Promise<{ running: RunningServer; moved: string[] }> {
  const moved: string[] = [];
  for (;;) {
    try {
      return { running: await launchServer(config), moved };
    } catch (err) {
      if (!(err instanceof PortTakenError) || err.port === 0) throw err;
      moved.push(err.which);
      config = err.which === "http" ? { ...config, port: 0 } : { ...config, mqttPort: 0 };
    }
  }
}

async function start(opts: ServerOptions): Promise<void> {
  const logger = createLogger(opts.logLevel);
  const config = serverConfig({ ...opts, network: "dev", localWorker: true }, logger);
  const apiKey = await demoKey(config.db);
  const { running, moved } = await launchAnywhere(config).catch((err: unknown) => {
    throw launchAdvice(err, config.host);
  });
  const http = `http://${config.host}:${running.httpPort}`;
  const request = JSON.stringify({
    user: DEMO_SERVICE,
    api_key: apiKey,
    hash: randomBytes(32).toString("hex").toUpperCase(),
  });
  const lines = [
    "nano-dpow all-in-one hub is running.",
    `  development difficulty ${formatU64(config.base)}: a CPU solves it in milliseconds. Work made here is NOT valid on the live network (use dpow server for that).`,
    ...moved.map((which) =>
      which === "http"
        ? `  port ${opts.port} was taken, so the HTTP server took a free port`
        : `  port ${opts.mqttPort} was taken (another MQTT broker?), so the embedded broker took a free port`,
    ),
    `  dashboard     ${http}/`,
    `  web worker    ${http}/worker  (a volunteer computes work in a browser tab)`,
    `  service API   ${http}/service/  (WebSocket ws://${config.host}:${running.httpPort}/service_ws/)`,
    `  MQTT broker   mqtt://${config.host}:${running.mqttPort}  (workers log in as client / ${opts.clientPassword === "client" ? "client" : "<--client-password>"})`,
    `  local worker  1 CPU thread, payout ${config.localWorker?.payout}`,
    `  demo service  user "${DEMO_SERVICE}", api_key ${apiKey}  (${keyNote(config.db)})`,
    `  ledger        ${config.db}`,
    "",
    "Request work:",
    `  curl -s ${http}/service/ -d '${request}'`,
    "",
    "Add a worker (from another terminal):",
    `  npx dpow worker --payout YOUR_NANO_ADDRESS --server mqtt://client:${opts.clientPassword === "client" ? "client" : "PASSWORD"}@${config.host}:${running.mqttPort}`,
    `  or in a browser: ${http}/worker?payout=YOUR_NANO_ADDRESS&start=1${opts.clientPassword === "client" ? "" : "&password=PASSWORD"}`,
    "",
    "Stop with Ctrl-C.",
  ];
  // Handlers first: whoever reads "Stop with Ctrl-C" may signal at once, and a signal that beats
  // the handler would kill the process without its clean shutdown.
  stopOnSignal(running, logger, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`${lines.join("\n")}\n`);
}

export function registerStart(program: Command): void {
  const command = program
    .command("start")
    .description(
      "all-in-one demo: hub, embedded broker, a local CPU worker and a demo service, at dev difficulty",
    );
  hubOptions(command, { logLevel: "warn" }).action(action(start));
}
