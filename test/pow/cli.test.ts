import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { workValue } from "../../src/nano/work.js";

// End-to-end: the real CLI, which runs the built dist/ (`npm run build` first).
const DPOW = fileURLToPath(new URL("../../bin/dpow.js", import.meta.url));

function dpow(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [DPOW, ...args],
      { env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const hashHex = () => randomBytes(32).toString("hex");

describe("dpow work generate", () => {
  test("--json prints work, difficulty, multiplier, seconds and mhs", async () => {
    const hash = hashHex();
    const { code, stdout } = await dpow([
      "work",
      "generate",
      "--hash",
      hash,
      "--difficulty",
      "fff0000000000000",
      "--json",
    ]);
    expect(code).toBe(0);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(["difficulty", "mhs", "multiplier", "seconds", "work"]);
    const value = workValue(Buffer.from(hash, "hex"), BigInt(`0x${out.work}`));
    expect(out.difficulty).toBe(value.toString(16).padStart(16, "0"));
    expect(value >= 0xfff0000000000000n).toBe(true);
    expect(typeof out.seconds).toBe("number");
    expect(typeof out.mhs).toBe("number");
  });

  test("prints just the work, for any engine and a multiplier", async () => {
    const hash = hashHex();
    for (const engine of ["native", "wasm"]) {
      const { code, stdout } = await dpow([
        "work",
        "generate",
        "--hash",
        hash,
        "--multiplier",
        "0.0001",
        "--engine",
        engine,
      ]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^[0-9a-f]{16}\n$/);
    }
  });

  test("without the native addon, auto falls back to WASM and says so once; native refuses", async () => {
    const env = { DPOW_NATIVE_ADDON: fileURLToPath(new URL("./no-such-addon.node", import.meta.url)) };
    const hash = hashHex();
    const auto = await dpow(
      ["work", "generate", "--hash", hash, "--difficulty", "fff0000000000000", "--threads", "2"],
      env,
    );
    expect(auto.code).toBe(0);
    expect(
      workValue(Buffer.from(hash, "hex"), BigInt(`0x${auto.stdout.trim()}`)) >= 0xfff0000000000000n,
    ).toBe(true);
    expect(auto.stderr.match(/using the WASM PoW kernel/g)).toHaveLength(1);
    const native = await dpow(["work", "generate", "--hash", hash, "--engine", "native"], env);
    expect(native.code).toBe(2);
    expect(native.stderr).toMatch(/^dpow: --engine native: the native addon is not built .*\n$/);
  });

  test("bad options are one-line errors", async () => {
    const bad = [
      [["--hash", "xyz"], /--hash must be exactly 64 hex digits/],
      [["--hash", hashHex(), "--threads", "0"], /--threads must be a whole number/],
      [["--hash", hashHex(), "--engine", "gpu"], /--engine must be one of auto, native, wasm/],
      [["--hash", hashHex(), "--difficulty", "ff", "--multiplier", "2"], /not both/],
    ] as const;
    for (const [args, message] of bad) {
      const { code, stderr, stdout } = await dpow(["work", "generate", ...args]);
      expect(code).toBeGreaterThan(0);
      expect(stdout).toBe("");
      expect(stderr).toMatch(message);
      expect(stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("dpow work-server", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill("SIGKILL");
    child = undefined;
  });

  test("serves the RPC on the address it prints and exits cleanly on SIGTERM", async () => {
    child = spawn(process.execPath, [DPOW, "work-server", "--listen", "127.0.0.1:0", "--threads", "1"]);
    let out = "";
    child.stdout?.setEncoding("utf8");
    const url = await new Promise<string>((resolve, reject) => {
      child?.stdout?.on("data", (chunk: string) => {
        out += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match) resolve(match[1] as string);
      });
      child?.once("exit", (code) => reject(new Error(`work-server exited (${code}): ${out}`)));
    });
    const hash = hashHex();
    const response = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ action: "work_generate", hash, difficulty: "fff0000000000000" }),
    });
    const json = (await response.json()) as { work: string };
    expect(workValue(Buffer.from(hash, "hex"), BigInt(`0x${json.work}`)) >= 0xfff0000000000000n).toBe(true);
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
  });

  test("refuses a malformed --listen", async () => {
    const { code, stderr } = await dpow(["work-server", "--listen", "localhost"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--listen must be HOST:PORT/);
  });
});

describe("dpow bench", () => {
  // Each section has a test of its own (test/bench/); this one is the PoW section's.
  test("--json reports every figure (numbers, or null where a part is unavailable)", async () => {
    const { code, stdout, stderr } = await dpow([
      "bench",
      "--only",
      "pow",
      "--seconds",
      "0.05",
      "--runs",
      "1",
      "--json",
    ]);
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    for (const key of ["wasm_mhs_per_thread", "mhs_all_threads", "threads"])
      expect(typeof out[key]).toBe("number");
    for (const key of ["native_mhs_per_thread", "reference_c_mhs", "nanocurrency_mhs"]) {
      expect(out[key] === null || typeof out[key] === "number").toBe(true);
    }
    expect(out.native_mhs_per_thread).not.toBeNull(); // the addon is built here
    expect(stderr).toMatch(/PoW engine/);
  });

  test("refuses an unknown section", async () => {
    const { code, stderr } = await dpow(["bench", "--only", "gpu"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/unknown section gpu; sections: pow/);
  });
});
