import { CodedError } from "../errors.js";
import type { WorkBackend } from "./backend.js";
import { CpuBackend } from "./cpu-backend.js";
import type { PoolOptions } from "./pool.js";
import { RpcBackend } from "./rpc-backend.js";

/**
 * "cpu" for this machine's pool, or the URL of a nano-work-server-compatible RPC
 * (http://host:port). The options apply to "cpu" only.
 */
export async function createBackend(spec: string, options: PoolOptions = {}): Promise<WorkBackend> {
  if (spec === "cpu") return CpuBackend.start(options);
  if (/^https?:\/\/[^/\s]+/.test(spec)) return new RpcBackend(spec);
  throw new CodedError(
    "DPOW_INVALID_OPTION",
    `unknown work backend "${spec}": use "cpu" or the URL of a work server, e.g. http://127.0.0.1:7076`,
  );
}
