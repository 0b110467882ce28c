/** Messages between the browser's WASM pool and its search threads (Web Workers). */
import type { WasmFlavour } from "../../../pow/wasm/wasm-kernel.js";

export type ToSearchThread =
  | { type: "init"; flavour: WasmFlavour; module: WebAssembly.Module }
  | { type: "job"; id: number; root: Uint8Array; threshold: bigint; start: bigint }
  | { type: "stop"; id: number };

export type FromSearchThread =
  | { type: "ready"; kernel: string }
  | { type: "found"; id: number; nonce: bigint; hashes: number }
  | { type: "stopped"; id: number; hashes: number }
  | { type: "failed"; message: string };
