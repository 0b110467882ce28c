/** What a call raced against a request's deadline yields when the deadline came first. */
export const TIMED_OUT = Symbol("timed out");

/**
 * A request's deadline: `expired` settles with TIMED_OUT `ms` from now, or when `signal` aborts.
 * Race a slow call against it; cancel() once the request is answered. A call that loses the race
 * goes on unobserved (Promise.race has subscribed to it, so its rejection is not unhandled).
 */
export function deadline(
  ms: number,
  signal?: AbortSignal,
): { expired: Promise<typeof TIMED_OUT>; cancel(): void } {
  let cancel = () => {};
  const expired = new Promise<typeof TIMED_OUT>((resolve) => {
    const expire = () => resolve(TIMED_OUT);
    const timer = setTimeout(expire, ms);
    signal?.addEventListener("abort", expire, { once: true });
    if (signal?.aborted) expire();
    cancel = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", expire);
    };
  });
  return { expired, cancel };
}
