#!/usr/bin/env node
// npm run fuzz -- [--seconds N] [--target NAME[,NAME]]: runs the fuzz targets of test/fuzz/ for N
// seconds in all (default 60, shared between the targets), under a 1 GiB heap so that an unbounded
// allocation fails loudly; each counterexample found is written to test/fuzz/regressions/.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const usage = "usage: npm run fuzz -- [--seconds N] [--target NAME[,NAME...]]";
let values;
try {
  ({ values } = parseArgs({
    options: { seconds: { type: "string", default: "60" }, target: { type: "string", default: "" } },
  }));
} catch (err) {
  console.error(`fuzz: ${err.message}\n${usage}`);
  process.exit(2);
}
const seconds = Number(values.seconds);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`fuzz: --seconds must be a positive number, got "${values.seconds}"\n${usage}`);
  process.exit(2);
}
const root = fileURLToPath(new URL("..", import.meta.url));
// The target names, read from their one source (this script runs before TypeScript is loaded).
const source = readFileSync(new URL("../test/fuzz/targets.ts", import.meta.url), "utf8");
const names = [...source.matchAll(/^ {2}name: "([\w-]+)",$/gm)].map((m) => m[1]);
const unknown = values.target.split(",").filter((name) => name !== "" && !names.includes(name));
if (unknown.length > 0) {
  console.error(`fuzz: no target named ${unknown.join(", ")}; the targets are ${names.join(", ")}`);
  process.exit(2);
}
const vitest = fileURLToPath(new URL("../node_modules/vitest/vitest.mjs", import.meta.url));
const result = spawnSync(
  process.execPath,
  [vitest, "run", "test/fuzz/fuzz.test.ts", "--testTimeout", String((seconds + 300) * 1000)],
  {
    cwd: root,
    stdio: "inherit",
    env: {
      ...process.env,
      FUZZ_SECONDS: String(seconds),
      FUZZ_TARGET: values.target,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --max-old-space-size=1024`.trim(),
    },
  },
);
process.exit(result.status ?? 1);
