/** Messages between the worker page and its session (a Web Worker holding the connection and the kernels). */
import type { WorkerStatus } from "../../protocol/worker-session.js";

export type KernelChoice = "auto" | "wasm" | "webgl2" | "webgpu";
export const KERNEL_CHOICES: readonly KernelChoice[] = ["auto", "wasm", "webgl2", "webgpu"];

export interface StartSession {
  type: "start";
  payout: string;
  /** MQTT over WebSocket at the hub, with the public worker account. */
  server: string;
  clientId: string;
  threads: number;
  kernel: KernelChoice;
}

/** One kernel's outcome in the start-up benchmark. */
export type KernelTrial = { kernel: string; hashRate: number } | { kernel: string; unavailable: string };

export type ToSession = StartSession | { type: "stop" };

export type FromSession =
  | { type: "benchmarking"; kernel: string }
  | { type: "chosen"; kernel: string; trials: KernelTrial[] }
  | { type: "status"; status: WorkerStatus }
  | { type: "log"; level: "info" | "warn" | "error"; message: string }
  | { type: "failed"; message: string }
  | { type: "stopped" };
