/** Messages between the pool (main thread) and its worker threads. */
export type ToWorker = { type: "job"; id: number; root: Uint8Array; threshold: bigint; start: bigint };

export type FromWorker =
  | { type: "ready" }
  | { type: "found"; id: number; nonce: bigint; hashes: number }
  | { type: "stopped"; id: number; hashes: number };
