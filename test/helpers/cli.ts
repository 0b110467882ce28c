import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const DPOW_BIN = fileURLToPath(new URL("../../bin/dpow.js", import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real, built CLI as a user would (`npm run build` first) and waits for it to exit. */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [DPOW_BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...options.env },
    input: options.input,
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
