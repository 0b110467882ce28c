/**
 * A volunteer's install path (README, "Running a worker"): `npm pack`, install the tarball into a
 * prefix of its own, run that copy's `dpow worker`. Built first (`npm run build`), as every CLI test.
 *
 * Offline: the suite has no registry. npm 11 resolves a tarball's dependencies against their full
 * registry documents, which a cache filled by `npm ci` does not hold, so `npm install --offline` of
 * the tarball alone fails (ENOTCACHED); and a lockfile install compiles better-sqlite3 from source
 * (minutes). So the prefix first gets this checkout's production dependencies, as an earlier install
 * would have left them, and npm installs the tarball over them: its files, its install script (the
 * native kernel) and its `dpow` link are npm's doing, from the tarball alone.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseHash, parseU64, workValue } from "../../src/nano/index.js";
import { newPayout, randomHash } from "../helpers/fake-worker.js";
import { type HubProcess, postWork, spawnHub, TEST_DIFFICULTY, tempDir } from "../helpers/hub-process.js";
import { addService } from "../helpers/service-clients.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const INSTALL_TIMEOUT_MS = 300_000;

const dirs: Array<{ remove: () => void }> = [];
let tarball: string;
let prefix: string;
let dpow: string;

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel", "error"], {
    cwd,
    encoding: "utf8",
    timeout: INSTALL_TIMEOUT_MS,
  });
}

/** The production dependencies this checkout installed (package-lock entries not marked dev), copied into `into`. */
function copyProductionDependencies(into: string): void {
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const installed = realpathSync(join(ROOT, "node_modules"));
  for (const [path, entry] of Object.entries(lock.packages)) {
    const name = path.slice("node_modules/".length);
    // Nested copies come along with the package that holds them.
    if (path === "" || entry.dev || entry.devOptional || name.includes("/node_modules/")) continue;
    cpSync(join(installed, name), join(into, "node_modules", name), {
      recursive: true,
      verbatimSymlinks: true,
    });
  }
}

/** Resolves once the process has written a line matching `pattern` (stdout or stderr). */
function outputLine(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(
      () => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (!pattern.test(output)) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited (${code}) before ${pattern}:\n${output}`)));
  });
}

beforeAll(() => {
  const packed = tempDir();
  dirs.push(packed);
  // --ignore-scripts: `prepare` would rebuild dist, which the suite has just built.
  const name = npm(["pack", "--ignore-scripts", "--pack-destination", packed.dir], ROOT)
    .trim()
    .split("\n")
    .pop();
  tarball = join(packed.dir, name as string);
  const target = tempDir();
  dirs.push(target);
  prefix = target.dir;
  copyProductionDependencies(prefix);
  npm(["install", "--prefix", prefix, "--offline", "--no-save", tarball], prefix);
  dpow = join(prefix, "node_modules", ".bin", "dpow");
}, INSTALL_TIMEOUT_MS);

afterAll(() => {
  for (const dir of dirs) dir.remove();
});

describe("a volunteer's install: npm pack, npm install the tarball, dpow worker", () => {
  it("ships what the CLI needs and nothing of the checkout's own", () => {
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map((path) => path.replace(/^package\//, ""));
    for (const needed of [
      "bin/dpow.js",
      "dist/cli/main.js",
      "dist/worker/index.js",
      "binding.gyp",
      "src/pow/native/pow.c",
      "scripts/build-native.mjs",
      "deploy/mosquitto/dpow.acl",
    ]) {
      expect(files).toContain(needed);
    }
    // No tests, databases, keys, payout plans, environment files or installed modules.
    const unwanted = files.filter((path) =>
      /^(test|node_modules|build)\/|\.db($|-)|demo-key|\.mqtt-sessions|payout-.*\.json$|\.env|\.pem$|\.key$/.test(
        path,
      ),
    );
    expect(unwanted).toEqual([]);
  });

  it("installs the dpow command and builds its native kernel", () => {
    expect(existsSync(dpow)).toBe(true);
    const installed = join(prefix, "node_modules", "nano-dpow");
    expect(realpathSync(dpow)).toBe(join(installed, "bin", "dpow.js"));
    // build-native.mjs never fails the install; with a compiler (as here) the addon is there.
    expect(readdirSync(join(installed, "build", "Release"))).toContain("dpow_pow.node");
    const help = spawnSync(dpow, ["worker", "--help"], { encoding: "utf8" });
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toContain("--payout");
    expect(help.stdout).toContain("--server");
  });

  it("the installed worker computes a real job for a hub", async () => {
    const { dir, remove } = tempDir();
    dirs.push({ remove });
    const db = join(dir, "hub.db");
    const hub: HubProcess = await spawnHub(db);
    let worker: ChildProcess | undefined;
    try {
      const service = addService(db, "svc", "--rate", "0");
      worker = spawn(
        dpow,
        [
          "worker",
          "--payout",
          newPayout(),
          "--server",
          `mqtt://client:client@127.0.0.1:${hub.mqttPort}`,
          "--threads",
          "1",
          "--no-benchmark",
        ],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, XDG_CONFIG_HOME: dir } },
      );
      await outputLine(worker, /hub is online/);
      const hash = randomHash();
      const { json } = await postWork(hub, {
        user: service.user,
        api_key: service.api_key,
        hash,
        timeout: 20,
      });
      expect(json.error, JSON.stringify(json)).toBeUndefined();
      expect(workValue(parseHash(hash), parseU64(json.work as string, "work"))).toBeGreaterThanOrEqual(
        parseU64(TEST_DIFFICULTY, "difficulty"),
      );
    } finally {
      const exited = worker && new Promise((resolve) => worker?.once("exit", resolve));
      worker?.kill("SIGTERM");
      await exited;
      await hub.stop();
    }
  }, 60_000);
});
