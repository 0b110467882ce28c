/**
 * A search kernel: hashes a run of consecutive nonces for one root and returns the first nonce whose
 * work value reaches the threshold. Kernels are synchronous and meant to run on worker threads in
 * batches small enough that a cancel is noticed within a few milliseconds.
 */
export interface SearchKernel {
  /** e.g. "native-avx512", "wasm-simd": which code actually runs. */
  readonly name: string;
  /** `count` must be a multiple of this (the nonces hashed per step). */
  readonly granularity: number;
  search(root: Uint8Array, start: bigint, count: number, threshold: bigint): bigint | undefined;
}

export type Engine = "auto" | "native" | "wasm";
export const ENGINES: readonly Engine[] = ["auto", "native", "wasm"];
