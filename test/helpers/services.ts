import { existsSync } from "node:fs";
import { connect } from "node:net";

/**
 * The machine's own services (Mosquitto binary, Redis, PostgreSQL). In CI (CI=true) a missing one
 * is a failure; elsewhere the tests that need it are skipped with the reason printed.
 */
function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export const MOSQUITTO_BIN = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"].find(
  (p) => existsSync(p),
);

export async function serviceAvailable(name: "mosquitto" | "redis" | "postgres"): Promise<boolean> {
  let ok: boolean;
  let why: string;
  if (name === "mosquitto") {
    ok = MOSQUITTO_BIN !== undefined;
    why = "the mosquitto binary is not installed";
  } else {
    const port = name === "redis" ? 6379 : 5432;
    ok = await reachable(port);
    why = `${name} is not listening on 127.0.0.1:${port}`;
  }
  if (ok) return true;
  if (process.env.CI === "true") throw new Error(`CI requires ${name}, but ${why}`);
  console.warn(`skipping ${name} tests: ${why}`);
  return false;
}
