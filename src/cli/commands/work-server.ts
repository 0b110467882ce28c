import type { Command } from "commander";
import { startWorkServer } from "../../pow/work-server/server.js";
import { action, UsageError } from "../output.js";
import { type PoolFlags, startPool } from "./work.js";

interface WorkServerFlags extends PoolFlags {
  listen: string;
}

/** "host:port" or "[v6]:port"; port 0 picks a free one (the chosen URL is printed). */
function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535)
    throw new UsageError(`--listen must be HOST:PORT, e.g. 127.0.0.1:7076, got "${text}"`);
  return { host: (match[1] ?? match[2]) as string, port };
}

async function serve(opts: WorkServerFlags): Promise<void> {
  const { host, port } = parseListen(opts.listen);
  const pool = await startPool(opts);
  let server: Awaited<ReturnType<typeof startWorkServer>>;
  try {
    server = await startWorkServer(pool, host, port);
  } catch (err) {
    await pool.close();
    throw new UsageError(`cannot listen on ${opts.listen}: ${(err as Error).message}`);
  }
  process.stdout.write(
    `dpow work-server listening on ${server.url} (${pool.kernel}, ${pool.threads} threads)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  await pool.close();
}

export function registerWorkServer(program: Command): Command {
  return program
    .command("work-server")
    .description("serve this machine's CPU as a nano-work-server compatible HTTP RPC (work_generate, ...)")
    .option("--listen <host:port>", "address to listen on (port 0: any free port)", "127.0.0.1:7076")
    .option("--threads <n>", "worker threads (default: one per CPU core)")
    .option("--engine <engine>", "kernel: auto (native if built, else WASM), native or wasm", "auto")
    .action(action(serve));
}
