/**
 * A real Mosquitto started from the shipped deploy/mosquitto config, on ephemeral loopback ports in a
 * temporary directory, with a password file made by mosquitto_passwd as the deploy README says.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { startDaemon, stopDaemon } from "../helpers/daemon.js";
import { freePort } from "../helpers/ports.js";
import { MOSQUITTO_BIN } from "../helpers/services.js";

const DEPLOY = new URL("../../deploy/mosquitto/", import.meta.url);

export interface RunningMosquitto {
  mqttPort: number;
  wsPort: number;
  passwords: { dpowserver: string; client: string; dpowinterface: string };
  /** Stops the process (SIGTERM) and waits for it to exit; `start()` runs it again on the same ports. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export async function startMosquitto(): Promise<RunningMosquitto> {
  if (!MOSQUITTO_BIN) throw new Error("mosquitto is not installed");
  const bin = MOSQUITTO_BIN;
  const dir = mkdtempSync(join(tmpdir(), "dpow-mosquitto-"));
  const passwords = { dpowserver: "server-secret", client: "client", dpowinterface: "interface-secret" };
  const passwordFile = join(dir, "dpow.passwd");
  writeFileSync(passwordFile, "");
  for (const [user, password] of Object.entries(passwords)) {
    execFileSync("mosquitto_passwd", ["-b", passwordFile, user, password]);
  }
  const mqttPort = await freePort();
  const wsPort = await freePort();
  const config = join(dir, "mosquitto.conf");
  writeFileSync(
    config,
    localConfig(readFileSync(new URL("mosquitto.conf", DEPLOY), "utf8"), dir, mqttPort, wsPort),
  );

  let child: ChildProcess | undefined;
  const running = {
    mqttPort,
    wsPort,
    passwords,
    async start() {
      child = await launch(bin, config);
    },
    async stop() {
      const current = child;
      child = undefined;
      await stopDaemon(current);
    },
    async dispose() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await running.start();
  return running;
}

/** The shipped config with its machine paths and ports swapped for the test's own. */
function localConfig(shipped: string, dir: string, mqttPort: number, wsPort: number): string {
  const replace = (text: string, from: RegExp, to: string) => {
    if (!from.test(text)) throw new Error(`deploy/mosquitto/mosquitto.conf no longer contains ${from}`);
    return text.replace(from, to);
  };
  let config = shipped;
  config = replace(config, /^password_file .*$/m, `password_file ${join(dir, "dpow.passwd")}`);
  config = replace(config, /^acl_file .*$/m, `acl_file ${new URL("dpow.acl", DEPLOY).pathname}`);
  config = replace(config, /^persistence_location .*$/m, `persistence_location ${dir}/`);
  config = replace(config, /^listener 1883$/m, `listener ${mqttPort} 127.0.0.1`);
  config = replace(config, /^listener 9001$/m, `listener ${wsPort} 127.0.0.1`);
  // Running as root, Mosquitto would switch to the `mosquitto` user, who cannot read the temp dir.
  return `${config}\nuser ${userInfo().username}\nlog_dest stderr\n`;
}

/** Starts Mosquitto and resolves once it says it is running; rejects with its output if it exits first. */
function launch(bin: string, config: string): Promise<ChildProcess> {
  return startDaemon({
    name: "mosquitto",
    command: bin,
    args: ["-c", config],
    ready: /mosquitto version \S+ running/,
    timeoutMs: 10_000,
  });
}
