/**
 * The PoW engine's public surface: backends for the worker and the hub, and a one-call
 * generateWork for scripts and tests.
 */
import { parseHash, parseU64 } from "../nano/hex.js";
import type { GenerateOptions, WorkResult } from "./backend.js";
import { WorkPool } from "./pool.js";

export type { GenerateOptions, WorkBackend, WorkResult } from "./backend.js";
export { CpuBackend } from "./cpu-backend.js";
export { createBackend } from "./create-backend.js";
export type { Engine } from "./kernel.js";
export { type PoolOptions, WorkCancelledError, WorkPool } from "./pool.js";
export { RemoteWorkError, RpcBackend } from "./rpc-backend.js";

let shared: Promise<WorkPool> | undefined;

/**
 * Finds work for a hash (64 hex digits or 32 bytes) at a difficulty (16 hex digits or a bigint) on a
 * process-wide pool with one thread per core, started on first use. The pool does not keep the
 * process alive while idle.
 */
export async function generateWork(
  hash: string | Uint8Array,
  difficulty: string | bigint,
  options: GenerateOptions = {},
): Promise<WorkResult> {
  const root = typeof hash === "string" ? parseHash(hash) : hash;
  const threshold = typeof difficulty === "string" ? parseU64(difficulty, "difficulty") : difficulty;
  shared ??= WorkPool.start();
  return (await shared).generate(root, threshold, options);
}
