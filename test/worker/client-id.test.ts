import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type EmbeddedBroker, startEmbeddedBroker } from "../../src/hub/broker/embedded.js";
import { configDir, stableClientId } from "../../src/worker/client-id.js";
import { tempDir } from "../helpers/hub-process.js";
import { newPayout } from "./helpers.js";
import { DpowProcess } from "./process.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function folder(): string {
  const { dir, remove } = tempDir();
  cleanups.push(remove);
  return dir;
}

describe("the worker's MQTT client id", () => {
  it("lives in $XDG_CONFIG_HOME/nano-dpow, else ~/.config/nano-dpow", () => {
    expect(configDir({ XDG_CONFIG_HOME: "/x/cfg" })).toBe(join("/x/cfg", "nano-dpow"));
    expect(configDir({ HOME: "/home/u" })).toMatch(/\.config[\\/]nano-dpow$/);
  });

  it("is the same at every start for one payout address, different for another or another installation", () => {
    const dir = folder();
    const payout = newPayout();
    const first = stableClientId(payout, dir);
    first?.release();
    const again = stableClientId(payout, dir);
    again?.release();
    expect(first?.id).toMatch(/^dpow-worker-[0-9a-f]{11}$/);
    expect(again?.id).toBe(first?.id);
    expect(first?.id.length).toBeLessThanOrEqual(23);
    const other = stableClientId(newPayout(), dir);
    other?.release();
    expect(other?.id).not.toBe(first?.id);
    const elsewhere = stableClientId(payout, folder());
    elsewhere?.release();
    expect(elsewhere?.id).not.toBe(first?.id);
  });

  it("gives a second worker running at the same time the next slot, and frees it on release", () => {
    const dir = folder();
    const payout = newPayout();
    const first = stableClientId(payout, dir);
    const second = stableClientId(payout, dir);
    expect(second?.id).not.toBe(first?.id);
    expect(second?.id).toMatch(/-1$/);
    second?.release();
    first?.release();
    expect(readdirSync(dir).filter((f) => f.endsWith(".lock"))).toEqual([]);
  });

  it("makes the config folder and its missing parents", () => {
    const dir = join(folder(), "a", "b", "nano-dpow");
    const made = stableClientId(newPayout(), dir);
    made?.release();
    expect(made?.id).toMatch(/^dpow-worker-/);
    expect(readdirSync(dir)).toContain("installation-id");
  });

  it.runIf(existsSync("/proc/self"))(
    "is null, at once, for a folder under /proc (Node's recursive mkdir never returns there)",
    () => {
      // In a child process: were it to loop, it could not hang the test runner, only time out.
      const built = fileURLToPath(new URL("../../dist/worker/client-id.js", import.meta.url));
      const script = `import(${JSON.stringify(built)}).then((m) => console.log(String(m.stableClientId(process.argv[1], "/proc/dpow-test/cfg/nano-dpow"))))`;
      const run = spawnSync(process.execPath, ["-e", script, newPayout()], {
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(run.error).toBeUndefined();
      expect(run.stdout.trim()).toBe("null");
    },
  );

  it("is null (a random id is used) when the config folder cannot be written", () => {
    const file = join(folder(), "a-file");
    writeFileSync(file, "");
    expect(stableClientId(newPayout(), join(file, "nano-dpow"))).toBeNull();
  });
});

describe("dpow worker restarts under one client id", () => {
  let broker: EmbeddedBroker;

  it("keeps one broker session across restarts instead of leaving one behind each time", async () => {
    broker = await startEmbeddedBroker({ mqttPort: 0, host: "127.0.0.1" });
    cleanups.push(() => broker.close());
    const env = { XDG_CONFIG_HOME: folder() };
    const payout = newPayout();
    const ids: string[] = [];
    for (let run = 0; run < 3; run++) {
      const proc = DpowProcess.start(
        [
          "worker",
          "--payout",
          payout,
          "--server",
          `mqtt://client:client@127.0.0.1:${broker.port}`,
          "--threads",
          "1",
          "--no-benchmark",
          "--json-logs",
        ],
        env,
      );
      cleanups.push(() => proc.stop());
      const line = await proc.waitForLine(/"clientId"/);
      ids.push(String((JSON.parse(line) as { clientId: string }).clientId));
      await proc.waitForLine(/connected to/);
      await proc.stop();
    }
    expect(new Set(ids).size).toBe(1);
    expect(broker.sessionCount()).toBe(1);
  });
});
