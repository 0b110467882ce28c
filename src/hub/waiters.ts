/**
 * The requests of this hub that wait for work, by hash: each settles once, with work that reaches
 * its difficulty, at its timeout, when its signal aborts, or when the hub closes. Pure
 * bookkeeping (no store, no broker), so the work flow's judging can ask "does anyone here wait?"
 * without caring how waiting is done.
 */

/** With work, `value` is workValue(root, work), computed from the work itself on every path. */
export type WorkOutcome =
  | { kind: "cache" | "work"; work: bigint; value: bigint }
  | { kind: "timeout" }
  | { kind: "closed" };

export interface WaitRequest {
  /** Canonical (upper-case) hex of the root the work is for. */
  hash: string;
  difficulty: bigint;
  timeoutMs: number;
  /** Aborting gives up waiting (the outcome is then `timeout`). */
  signal?: AbortSignal;
}

interface Waiter {
  difficulty: bigint;
  settle(outcome: WorkOutcome): void;
}

export class Waiters {
  private readonly byHash = new Map<string, Set<Waiter>>();
  private waiting = 0;

  /** Requests waiting now. */
  get count(): number {
    return this.waiting;
  }

  /** Whether a request for `hash` waits here. */
  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  /** Waits for work for `request.hash` at `request.difficulty`, until the timeout or the signal. */
  wait(request: WaitRequest): Promise<WorkOutcome> {
    return new Promise((resolve) => {
      const { signal } = request;
      if (signal?.aborted) return resolve({ kind: "timeout" });
      let set = this.byHash.get(request.hash);
      if (!set) {
        set = new Set();
        this.byHash.set(request.hash, set);
      }
      const waiters = set;
      const onAbort = () => waiter.settle({ kind: "timeout" });
      const waiter: Waiter = {
        difficulty: request.difficulty,
        settle: (outcome) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.waiting -= 1;
          if (waiters.size === 0 && this.byHash.get(request.hash) === waiters)
            this.byHash.delete(request.hash);
          resolve(outcome);
        },
      };
      const timer = setTimeout(() => waiter.settle({ kind: "timeout" }), request.timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      waiters.add(waiter);
      this.waiting += 1;
    });
  }

  /** Settles the requests for `hash` that `value` satisfies; returns how many. */
  answer(hash: string, work: bigint, value: bigint): number {
    const set = this.byHash.get(hash);
    if (!set) return 0;
    let answered = 0;
    for (const waiter of [...set]) {
      if (value < waiter.difficulty) continue;
      waiter.settle({ kind: "work", work, value });
      answered += 1;
    }
    return answered;
  }

  /** Settles every waiting request with `closed`. */
  closeAll(): void {
    for (const set of this.byHash.values()) for (const waiter of [...set]) waiter.settle({ kind: "closed" });
  }
}
