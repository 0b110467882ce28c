#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the `prepare` script).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  console.error(
    "dpow: the CLI is not built yet. Run `npm install` (or `npm run build`) in the project folder first.",
  );
  process.exit(1);
}
await import(entry.href);
