/** Messages between the pool (main thread) and its search threads. */
export type ToSearchThread = { type: "job"; id: number; root: Uint8Array; threshold: bigint; start: bigint };

export type FromSearchThread =
  | { type: "ready" }
  | { type: "found"; id: number; nonce: bigint; hashes: number }
  | { type: "stopped"; id: number; hashes: number };
