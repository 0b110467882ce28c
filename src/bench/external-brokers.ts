/**
 * External MQTT brokers on ephemeral loopback ports in a temporary directory, for the measurements
 * that compare them: Mosquitto from the shipped deploy/mosquitto, NATS from bench/nats.conf (measured,
 * not shipped). Each is stopped by its own pid.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DEPLOY = new URL("../../deploy/", import.meta.url);
const NATS_CONFIG = new URL("../../bench/nats.conf", import.meta.url);

export const BROKER_PASSWORDS = {
  dpowserver: "server-secret",
  client: "client",
  dpowinterface: "interface-secret",
} as const;

export interface RunningBroker {
  mqttPort: number;
  /** MQTT over WebSocket: ws://127.0.0.1:wsPort/mqtt */
  wsPort: number;
  stop(): Promise<void>;
}

export const MOSQUITTO_BIN = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"].find(
  (p) => existsSync(p),
);
export const NATS_BIN = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find(
  (p) => existsSync(p),
);

/** deploy/mosquitto with its `set_tcp_nodelay` as asked. */
export async function startMosquitto(noDelay = true): Promise<RunningBroker> {
  if (MOSQUITTO_BIN === undefined) throw new Error("mosquitto is not installed");
  const dir = mkdtempSync(join(tmpdir(), "dpow-mosquitto-"));
  const passwords = join(dir, "dpow.passwd");
  writeFileSync(passwords, "");
  for (const [user, password] of Object.entries(BROKER_PASSWORDS)) {
    execFileSync("mosquitto_passwd", ["-b", passwords, user, password]);
  }
  const [mqttPort, wsPort] = [await freePort(), await freePort()];
  const config = edit(readFileSync(new URL("mosquitto/mosquitto.conf", DEPLOY), "utf8"), "deploy/mosquitto", [
    [/^password_file .*$/m, `password_file ${passwords}`],
    [/^acl_file .*$/m, `acl_file ${fileURLToPath(new URL("mosquitto/dpow.acl", DEPLOY))}`],
    [/^persistence_location .*$/m, `persistence_location ${dir}/`],
    [/^set_tcp_nodelay .*$/m, `set_tcp_nodelay ${noDelay}`],
    [/^listener 1883$/m, `listener ${mqttPort} 127.0.0.1`],
    [/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`],
  ]);
  // Running as root, Mosquitto would switch to the `mosquitto` user, who cannot read the temp dir.
  writeFileSync(join(dir, "mosquitto.conf"), `${config}\nuser ${userInfo().username}\n`);
  const child = spawn(MOSQUITTO_BIN, ["-c", join(dir, "mosquitto.conf")], { stdio: "ignore" });
  return running(child, dir, mqttPort, wsPort);
}

/** bench/nats.conf, its passwords in the environment. */
export async function startNats(): Promise<RunningBroker> {
  if (NATS_BIN === undefined) throw new Error("nats-server is not installed");
  const dir = mkdtempSync(join(tmpdir(), "dpow-nats-"));
  const [mqttPort, wsPort] = [await freePort(), await freePort()];
  const config = edit(readFileSync(NATS_CONFIG, "utf8"), "bench/nats.conf", [
    [/^listen: .*$/m, "listen: 127.0.0.1:-1"],
    [/^ {2}store_dir: .*$/m, `  store_dir: ${join(dir, "jetstream")}`],
    [/^ {2}listen: 0\.0\.0\.0:1883$/m, `  listen: 127.0.0.1:${mqttPort}`],
    [/^ {2}listen: 0\.0\.0\.0:9001$/m, `  listen: 127.0.0.1:${wsPort}`],
  ]);
  writeFileSync(join(dir, "nats.conf"), config);
  const child = spawn(NATS_BIN, ["-c", join(dir, "nats.conf")], {
    stdio: "ignore",
    env: {
      ...process.env,
      DPOWSERVER_PASSWORD: BROKER_PASSWORDS.dpowserver,
      CLIENT_PASSWORD: BROKER_PASSWORDS.client,
      DPOWINTERFACE_PASSWORD: BROKER_PASSWORDS.dpowinterface,
    },
  });
  return running(child, dir, mqttPort, wsPort);
}

function edit(text: string, what: string, replacements: [RegExp, string][]): string {
  return replacements.reduce((config, [from, to]) => {
    if (!from.test(config)) throw new Error(`${what} no longer contains ${from}`);
    return config.replace(from, to);
  }, text);
}

/** Resolves once the broker takes MQTT connections; rejects if it exits first. */
async function running(
  child: ChildProcess,
  dir: string,
  mqttPort: number,
  wsPort: number,
): Promise<RunningBroker> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 15_000;
  while (!(await listening(mqttPort))) {
    if (gone || Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the broker did not start on port ${mqttPort} (its config is in ${dir})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    mqttPort,
    wsPort,
    async stop() {
      if (!gone) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
