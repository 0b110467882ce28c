/**
 * The whole chain as deployed: a service asks `dpow server` for work, a `dpow worker` process
 * computes it; the hub restarts (with its embedded broker, or alone on an external Mosquitto), and
 * Mosquitto restarts under both of them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64, workValue } from "../../src/nano/index.js";
import { startMosquitto } from "../broker/mosquitto.js";
import { runCli } from "../helpers/cli.js";
import { freePort } from "../helpers/ports.js";
import { serviceAvailable } from "../helpers/services.js";
import { newPayout, randomHash } from "./helpers.js";
import { DpowProcess } from "./process.js";

let dir: string;
let apiKey: string;
const processes: DpowProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dpow-worker-hub-"));
  const added = runCli(["service", "add", "svc", "--db", join(dir, "dpow.db"), "--json"]);
  if (added.status !== 0) throw new Error(`dpow service add failed: ${added.stderr}`);
  apiKey = (JSON.parse(added.stdout) as { api_key: string }).api_key;
});
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(args: string[]): DpowProcess {
  const proc = DpowProcess.start(args);
  processes.push(proc);
  return proc;
}

function hub(httpPort: number, ...extra: string[]): DpowProcess {
  const args = ["server", "--network", "dev", "--port", String(httpPort), "--db", join(dir, "dpow.db")];
  return start([...args, "--log-level", "warn", ...extra]);
}

function worker(mqttPort: number, payout = newPayout()): DpowProcess {
  const server = `mqtt://client:client@127.0.0.1:${mqttPort}`;
  return start(["worker", "--payout", payout, "--server", server, "--threads", "1", "--no-benchmark"]);
}

/** A service request, as a wallet would send it; the work is checked at the difficulty the hub reports. */
async function requestWork(httpPort: number): Promise<void> {
  const hash = randomHash();
  const response = await fetch(`http://127.0.0.1:${httpPort}/service/`, {
    method: "POST",
    body: JSON.stringify({ user: "svc", api_key: apiKey, hash, timeout: 10 }),
  });
  const reply = (await response.json()) as { work?: string; difficulty?: string; error?: string };
  expect(reply.error).toBeUndefined();
  const value = workValue(parseHash(hash), parseU64(reply.work, "work"));
  expect(value >= parseU64(reply.difficulty, "difficulty")).toBe(true);
}

/** Waits until the hub answers HTTP (it logs at warn level only, so its output says nothing). */
async function hubUp(httpPort: number, proc: DpowProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!proc.running) throw new Error(`dpow server exited:\n${proc.output()}`);
    const up = await fetch(`http://127.0.0.1:${httpPort}/upcheck/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    if (Date.now() > deadline) throw new Error(`dpow server did not come up:\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("dpow worker with dpow server (embedded broker)", () => {
  it("serves requests, and comes back after the hub (and its broker) restarts", async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    let server = hub(httpPort, "--mqtt-port", String(mqttPort));
    await hubUp(httpPort, server);
    const volunteer = worker(mqttPort);
    await volunteer.waitForLine(/hub is online/);
    await requestWork(httpPort);
    await volunteer.waitForLine(/rewarded for .*credits: 1 on-demand/);

    // Lines from the restart on: a stall before it may have printed an extra offline/online pair.
    const restart = volunteer.lines.length;
    await server.stop();
    await volunteer.waitForLine(/broker connection to .* lost or refused/, 1, undefined, restart);
    server = hub(httpPort, "--mqtt-port", String(mqttPort));
    await hubUp(httpPort, server);
    await volunteer.waitForLine(/hub is online/, 1, undefined, restart);
    await requestWork(httpPort);
    await volunteer.waitForLine(/rewarded for .*credits: 2 on-demand/);
  });
});

describe.runIf(await serviceAvailable("mosquitto"))("dpow worker with dpow server on Mosquitto", () => {
  it("survives a hub restart and a broker restart", async () => {
    const mosquitto = await startMosquitto();
    try {
      const httpPort = await freePort();
      const mqttUrl = `mqtt://dpowserver:${mosquitto.passwords.dpowserver}@127.0.0.1:${mosquitto.mqttPort}`;
      let server = hub(httpPort, "--mqtt-url", mqttUrl);
      await hubUp(httpPort, server);
      const volunteer = worker(mosquitto.mqttPort);
      await volunteer.waitForLine(/hub is online/);
      await requestWork(httpPort);

      // Lines from each restart on: a stall before it may have printed an extra offline/online pair.
      const hubRestart = volunteer.lines.length;
      await server.stop();
      await volunteer.waitForLine(/no heartbeat from the hub/, 1, undefined, hubRestart);
      server = hub(httpPort, "--mqtt-url", mqttUrl);
      await hubUp(httpPort, server);
      await volunteer.waitForLine(/hub is online/, 1, undefined, hubRestart);
      await requestWork(httpPort);

      const brokerRestart = volunteer.lines.length;
      await mosquitto.stop();
      await volunteer.waitForLine(/broker connection to .* lost or refused/, 1, undefined, brokerRestart);
      await mosquitto.start();
      await volunteer.waitForLine(/hub is online/, 1, undefined, brokerRestart);
      await requestWork(httpPort);
    } finally {
      await Promise.all(processes.splice(0).map((p) => p.stop()));
      await mosquitto.dispose();
    }
  });
});
