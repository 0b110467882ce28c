#!/usr/bin/env node
// Builds the native PoW addon (binding.gyp) with node-gyp. Runs at `npm install`, so it must never
// fail the install: without a C compiler or headers the engine runs its WASM kernel instead, and
// this script says so in one line.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = ["rebuild", "--release"];
// Prefer the headers that ship with this Node (distribution packages install them next to the
// binary); otherwise node-gyp downloads them, which needs network access.
const prefix = join(dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include", "node", "node_api.h"))) {
  args.push(`--nodedir=${prefix}`);
}
// npm names its bundled node-gyp in npm_config_node_gyp for scripts; run directly, look for the
// copy bundled with npm next to this Node, then for node-gyp on PATH.
const bundled = join(prefix, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
const gyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
const command = gyp ? process.execPath : "node-gyp";
const result = spawnSync(command, gyp ? [gyp, ...args] : args, {
  cwd: root,
  stdio: process.env.DPOW_NATIVE_VERBOSE ? "inherit" : "pipe",
  encoding: "utf8",
  shell: !gyp && process.platform === "win32",
});
if (result.status === 0) {
  console.log("dpow: built the native PoW kernel (build/Release/dpow_pow.node)");
} else {
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
  console.log(
    `dpow: native PoW kernel not built (${why}); the engine will use WASM. Set DPOW_NATIVE_VERBOSE=1 and run \`npm run build:native\` to see why.`,
  );
}
