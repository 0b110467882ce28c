/**
 * Attack 6 of the hardening issue against the spawned `dpow server`: a flood of wrong-password MQTT
 * logins is answered later and later, logged as one summary line, and leaves honest logins working;
 * and the per-address connection cap.
 */
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { type HubProcess, spawnHub, tempDir } from "../helpers/hub-process.js";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function hub(args: string[]): Promise<HubProcess> {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  const started = await spawnHub(join(dir, "hub.db"), args);
  cleanups.push(() => started.stop());
  return started;
}

/** One login; resolves with the CONNACK refusal code (0 = accepted) and how long the answer took. */
function login(port: number, username: string, password: string): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, { username, password, reconnectPeriod: 0 });
    const done = (code: number) => {
      c.end(true);
      resolve({ code, ms: Date.now() - started });
    };
    // A CONNACK refusal carries its numeric code; a dropped connection (ECONNRESET) counts as -1.
    c.once("error", (err) => {
      const code = (err as { code?: unknown }).code;
      done(typeof code === "number" ? code : -1);
    });
    c.once("close", () => done(-1));
    c.once("connect", () => done(0));
  });
}

describe("adversarial: MQTT logins on the spawned hub", () => {
  it("attack 6: 2,000 wrong-password logins: one summary line, growing delays, honest logins still work", async () => {
    const running = await hub(["--interface-password", "operator-secret"]);
    let next = 0;
    const codes: number[] = [];
    const attacker = async () => {
      while (next < 2000) {
        next++;
        codes.push((await login(running.mqttPort, "dpowinterface", `guess-${next}`)).code);
      }
    };
    await Promise.all(Array.from({ length: 16 }, attacker));
    expect(codes.every((code) => code === 3 || code === 4)).toBe(true);
    // Every refusal counted, none logged on its own.
    expect(running.logs.filter((line) => /login/i.test(line.msg ?? "")).length).toBeLessThanOrEqual(1);

    // The address has failed many times: the next wrong password waits the longest delay (8 s).
    const late = await login(running.mqttPort, "dpowinterface", "one more guess");
    expect(late.code).toBe(4);
    expect(late.ms).toBeGreaterThanOrEqual(7_000);
    // A right password from the same address is let in at once.
    expect((await login(running.mqttPort, "client", "client")).code).toBe(0);
    expect((await login(running.mqttPort, "dpowinterface", "operator-secret")).code).toBe(0);

    await running.stop();
    const summaries = running.logs.filter((line) =>
      /MQTT logins refused in the last 60 s/.test(line.msg ?? ""),
    );
    expect(summaries.reduce((sum, line) => sum + Number(line.refused), 0)).toBe(2001);
    expect(summaries.length).toBeLessThanOrEqual(2);
    expect(Math.max(...summaries.map((line) => Number(line.longestDelayMs)))).toBe(8000);
    // 2,000 logins and an 8 s delay take about 12 s here; the ceiling is for a loaded machine.
  }, 120_000);

  it("caps MQTT connections per address (--mqtt-max-per-ip), with one summary line", async () => {
    const running = await hub(["--mqtt-max-per-ip", "5"]);
    const open: MqttClient[] = [];
    for (let i = 0; i < 5; i++) {
      open.push(
        await mqtt.connectAsync(`mqtt://127.0.0.1:${running.mqttPort}`, {
          username: "client",
          password: "client",
          reconnectPeriod: 0,
        }),
      );
    }
    cleanups.push(() => Promise.all(open.map((c) => c.endAsync(true))));
    expect((await login(running.mqttPort, "client", "client")).code).toBe(-1);
    await open.pop()?.endAsync();
    await expect
      .poll(async () => (await login(running.mqttPort, "client", "client")).code, { timeout: 10_000 })
      .toBe(0);
    await running.stop();
    expect(
      running.logs.some((line) =>
        /MQTT connections refused \(over the per-address cap\)/.test(line.msg ?? ""),
      ),
    ).toBe(true);
  });
});
