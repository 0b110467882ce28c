/** Small helpers the browser kernels share. */

/** A uniformly random u64: each job starts at its own point of the nonce space. */
export function randomU64(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(words[0] as number) << 32n) | BigInt(words[1] as number);
}

/** What an aborted generate() rejects with, as the CLI's pool does. */
export function abortError(): Error {
  return new DOMException("work generation was aborted", "AbortError");
}

/**
 * Lets queued messages (a cancel, a stop) run between two batches of a kernel's loop: a message to
 * ourselves is queued behind them, and unlike setTimeout(0) it is never clamped to 4 ms.
 */
export function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}
