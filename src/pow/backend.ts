/** Work found for a root: the nonce and the value it reaches (value >= the threshold asked for). */
export interface WorkResult {
  work: bigint;
  value: bigint;
}

export interface GenerateOptions {
  /** Aborting stops the search; the promise then rejects with an AbortError. */
  signal?: AbortSignal;
}

/**
 * Something that finds work: the local CPU pool, or a remote nano-work-server-compatible RPC.
 * The worker client and the hub's local worker use only this interface.
 */
export interface WorkBackend {
  readonly name: string;
  generate(root: Uint8Array, threshold: bigint, options?: GenerateOptions): Promise<WorkResult>;
  close(): Promise<void>;
}
